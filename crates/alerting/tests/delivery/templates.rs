//! A channel's own templates shape what its service receives; a broken one at render time
//! still delivers, in the default wording.

use crate::receivers::{Answer, Receiver};
use crate::world::*;
use serde_json::json;

#[tokio::test]
async fn a_channels_templates_word_its_messages() {
    each_backend(|world| async move {
        let t = at("2026-11-27T10:00:00Z");
        let receiver = Receiver::start("/services/T0/B0/X", Answer::status(200, "ok")).await;
        let chat = world
            .channel(
                "chat",
                json!({
                    "kind": "slack",
                    "webhook_url": receiver.url("/services/T0/B0/X"),
                    "title_template": "{{ monitor }} went {{ state | lower }}",
                    "message_template": "{{ cause }} at {{ since }}; runbook: https://wiki.example/{{ monitor | lower }}",
                }),
            )
            .await;
        let plain = Receiver::start("/services/T0/B0/Y", Answer::status(200, "ok")).await;
        let broken = world
            .channel(
                "plain",
                json!({
                    "kind": "slack",
                    "webhook_url": plain.url("/services/T0/B0/Y"),
                    "title_template": "{{ monitor | no_such_filter }}",
                }),
            )
            .await;
        world.rule(&["down"], vec![chat, broken], None).await;
        let monitor = world.http_monitor("Checkout").await;
        world.observe(monitor, &mut runtime(t - HOUR), vec![down(t)]).await;
        world.dispatch(t + 1).await;

        let body = receiver.single().json();
        assert_eq!(body["text"], "Checkout went down");
        let section = body["blocks"][1]["text"]["text"].as_str().expect("the summary");
        assert_eq!(
            section,
            "connection refused at 2026-11-27 10:00:00 UTC; runbook: https://wiki.example/checkout"
        );
        assert_eq!(plain.single().json()["text"], "[DOWN] Checkout");
        Ok(())
    })
    .await;
}
