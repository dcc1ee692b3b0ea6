//! `watchtower check TARGET`: one check now, printed with its phase timings. Exit 0 when UP or
//! DEGRADED, 1 when DOWN, 2 on bad input, so scripts can use it like `curl -f`.

use super::{EXIT_BAD_INPUT, EXIT_FAILURE};
use crate::cli::CheckArgs;
use crate::target::parse_target;
use std::process::ExitCode;
use std::time::Duration;
use watchtower_checks::{Prober, ProberOptions};
use watchtower_core::{CheckOutcome, CheckStatus};

pub async fn run(args: CheckArgs) -> ExitCode {
    let kind = match parse_target(&args.target, args.timeout) {
        Ok(kind) => kind,
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {problem}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let prober = Prober::new(ProberOptions::default());
    let outcome = prober.check(&kind, args.timeout).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome).unwrap_or_default()
        );
    } else {
        print!("{}", render(&args.target, &outcome));
    }
    match outcome.status {
        CheckStatus::Down => ExitCode::from(EXIT_FAILURE),
        CheckStatus::Up | CheckStatus::Degraded => ExitCode::SUCCESS,
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn render(target: &str, outcome: &CheckOutcome) -> String {
    let mut text = format!(
        "{} {}  {}",
        outcome.status.as_str().to_uppercase(),
        target,
        ms(outcome.latency)
    );
    if let Some(status) = outcome.http_status {
        text.push_str(&format!("  HTTP {status}"));
    }
    text.push('\n');
    if let (Some(class), Some(message)) = (outcome.error_class, &outcome.message) {
        text.push_str(&format!(
            "  {:<11} {message}\n",
            format!("{}:", class.as_str())
        ));
    }
    if let Some(phases) = &outcome.phases {
        for (name, phase) in [
            ("dns", phases.dns),
            ("connect", phases.connect),
            ("tls", phases.tls),
            ("first byte", phases.first_byte),
            ("download", phases.download),
        ] {
            text.push_str(&format!(
                "  {name:<11} {}\n",
                phase.map(ms).unwrap_or_else(|| "-".into())
            ));
        }
    }
    if let Some(size) = outcome.size {
        text.push_str(&format!("  {:<11} {size} bytes\n", "size"));
    }
    if let Some(certificate) = &outcome.certificate {
        text.push_str(&format!("  {:<11} {}\n", "subject", certificate.subject));
        text.push_str(&format!("  {:<11} {}\n", "issuer", certificate.issuer));
        text.push_str(&format!("  {:<11} {}\n", "expires", certificate.expires_at));
    }
    text
}
