//! Whop API answers as the metric probe reads them: the input is one page's body, read as a page
//! of memberships and as a page of payments, and every metric counted from it.

pub fn run(data: &[u8]) {
    if data.len() > crate::MAX_INPUT_BYTES {
        return;
    }
    for figure in watchtower_checks::fuzzing::whop_page(data) {
        assert!(!figure.is_nan(), "a figure is a number");
    }
}
