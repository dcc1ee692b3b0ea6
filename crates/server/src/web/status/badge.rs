//! A status page's badge: a small SVG saying the page's overall state, its text escaped.

use watchtower_core::ComponentState;

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A colour with white text above 4.5:1 contrast, per state.
fn colour(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational => "#17692e",
        ComponentState::Maintenance => "#4d5560",
        ComponentState::Degraded => "#8a5a00",
        ComponentState::PartialOutage => "#b3261e",
        ComponentState::MajorOutage => "#8c1d18",
    }
}

/// An estimate of the width of `text` at 11 px, enough for the box around it.
fn text_width(text: &str) -> usize {
    text.chars().count() * 7 + 12
}

/// The badge of a page titled `title` in `state`: `status | All systems operational`.
pub fn render(title: &str, state: ComponentState) -> String {
    let label = "status";
    let message = state.headline();
    let (left, right) = (text_width(label), text_width(message));
    let width = left + right;
    let name = escape(&format!("{title}: {message}"));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{name}"><title>{name}</title><rect width="{left}" height="20" fill="#444d56"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/><g fill="#ffffff" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{label}</text><text x="{mx}" y="14">{message}</text></g></svg>"##,
        colour = colour(state),
        lx = left / 2,
        mx = left + right / 2,
        label = escape(label),
        message = escape(message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(escape("a\u{1}b"), "ab");
        let svg = render("Tom & Jerry <3", ComponentState::Degraded);
        assert!(svg.contains("Tom &amp; Jerry &lt;3: Degraded performance"));
        assert!(!svg.contains("<3"));
    }
}
