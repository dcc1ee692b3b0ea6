//! The monitor picker of the rule and window forms. A team may have 10,000 monitors, so a
//! select cannot list them all: it lists the chosen ones and the first matches of a search
//! (name, key or target, as the overview's search). The search is a field and a "Find
//! monitors" button in the same form, which posts the form to re-draw it, saving nothing; with
//! JavaScript, htmx does the same as one types and swaps only the select (`hx-select` on the
//! page itself, so there is no second renderer).

use super::*;
use watchtower_core::MonitorId;
use watchtower_store::{MonitorFilter, PageRequest, StoreError};

/// Monitors a picker lists besides the chosen ones; more are found by searching.
pub const PICKER_MATCHES: u32 = 50;

/// The longest search text used (the rest is ignored).
const MAX_SEARCH_CHARS: usize = 200;

/// A picker's search field: what was typed, and what the list shows.
#[derive(Debug, Clone)]
pub struct SearchView {
    /// The search input's name (`search.monitors`).
    pub name: String,
    pub value: String,
    /// Read out after each search: how many matched and how many are shown.
    pub status: String,
}

/// What a monitor picker asks for: the form field (`monitor_id` or `monitors`), its label and
/// hint, and the first option's label when choosing none is allowed.
pub struct PickerField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub none: Option<&'static str>,
}

/// The picker for `field`: the chosen monitors ticked, then the first [`PICKER_MATCHES`] of the
/// search.
pub async fn monitor_picker(
    state: &AppState,
    page: &WebPage,
    form: &Posted,
    field: PickerField,
    problems: &[FieldError],
) -> Result<ChoiceView, WebError> {
    let PickerField {
        name,
        label,
        hint,
        none,
    } = field;
    let team = page.access.team.id;
    let chosen: Vec<MonitorId> = values_of(form, name)
        .iter()
        .filter_map(|id| id.parse().ok().map(MonitorId))
        .collect();
    let search_name = format!("search.{name}");
    // Bounded like a name: the text becomes a LIKE pattern over every monitor of the team.
    let search: String = value_of(form, &search_name)
        .chars()
        .take(MAX_SEARCH_CHARS)
        .collect();
    let mut options: Vec<OptionView> = none
        .map(|label| OptionView {
            value: String::new(),
            label: label.to_owned(),
            selected: chosen.is_empty(),
        })
        .into_iter()
        .collect();
    for id in &chosen {
        // Another team's id (a forged form) is not offered, and the API refuses it on save; a
        // monitor that cannot be read is offered by its id.
        let label = match state.store.get_monitor(team, *id).await {
            Ok(Some(monitor)) => monitor.spec.name,
            Ok(None) => continue,
            Err(StoreError::BrokenMonitor(_)) => format!("monitor {id}"),
            Err(error) => return Err(ApiError::from(error).into()),
        };
        options.push(OptionView {
            value: id.to_string(),
            label,
            selected: true,
        });
    }
    let found = state
        .store
        .list_monitors(
            team,
            &PageRequest {
                limit: PICKER_MATCHES + 1,
                filter: MonitorFilter {
                    search: Some(search.clone()).filter(|text| !text.is_empty()),
                    ..MonitorFilter::default()
                },
                ..PageRequest::default()
            },
        )
        .await
        .map_err(ApiError::from)?;
    let more = found.len() > PICKER_MATCHES as usize;
    let matches: Vec<_> = found
        .into_iter()
        .take(PICKER_MATCHES as usize)
        .filter(|listing| !chosen.contains(&listing.monitor.id))
        .collect();
    let shown = matches.len();
    options.extend(matches.into_iter().map(|listing| OptionView {
        value: listing.monitor.id.to_string(),
        label: listing.monitor.spec.name,
        selected: false,
    }));
    let status = match (search.is_empty(), more, shown) {
        (true, false, _) => String::new(),
        (true, true, _) => {
            format!("Listing the first {PICKER_MATCHES} monitors; search to find the others.")
        }
        (false, _, 0) => format!("No other monitor matches \u{201c}{search}\u{201d}."),
        (false, false, n) => format!(
            "{n} {} \u{201c}{search}\u{201d}.",
            if n == 1 {
                "monitor matches"
            } else {
                "monitors match"
            }
        ),
        (false, true, n) => format!(
            "Listing the first {n} monitors matching \u{201c}{search}\u{201d}; type more to narrow."
        ),
    };
    Ok(ChoiceView {
        search: Some(SearchView {
            name: search_name,
            value: search,
            status,
        }),
        ..choice(name, label, hint, options, problems)
    })
}
