//! The quotes attached to accounts.
//!
//! The tutorial fetched a quote from a separate quote service; here a small fixed catalogue stands in for it, so every
//! answer is deterministic and a test can predict it. Each quote exists in English and Swedish, the two languages
//! the tutorial's quote service spoke.

/// The language a quote is given in when none is asked for, or when the one asked for is not in the catalogue.
pub const DEFAULT_LANGUAGE: &str = "en";

/// One quote in every language of the catalogue, as `(language, text)` pairs, default language first.
type Translations = [(&'static str, &'static str); 2];

const CATALOGUE: [Translations; 8] = [
    [
        ("en", "Measure twice, cut once."),
        ("sv", "Mät två gånger, såga en gång."),
    ],
    [
        ("en", "Better late than never."),
        ("sv", "Bättre sent än aldrig."),
    ],
    [
        ("en", "Many hands make light work."),
        ("sv", "Många händer gör arbetet lätt."),
    ],
    [
        ("en", "Rome was not built in a day."),
        ("sv", "Rom byggdes inte på en dag."),
    ],
    [
        ("en", "Slow and steady wins the race."),
        ("sv", "Sakta men säkert vinner loppet."),
    ],
    [
        ("en", "The early bird catches the worm."),
        ("sv", "Morgonstund har guld i mund."),
    ],
    [
        ("en", "Still waters run deep."),
        ("sv", "I det stilla vattnet går de stora fiskarna."),
    ],
    [
        ("en", "Practice makes perfect."),
        ("sv", "Övning ger färdighet."),
    ],
];

/// The quote of account `account_id` in `language`, as `(language, text)`.
///
/// The account id picks the quote, so an account keeps its quote across requests and restarts. An unknown language
/// falls back to [`DEFAULT_LANGUAGE`] rather than failing: the tutorial always answered with some quote.
pub fn quote_for(account_id: u64, language: Option<&str>) -> (&'static str, &'static str) {
    // The catalogue length is a small constant, so the remainder always fits in usize.
    let index = usize::try_from(account_id % CATALOGUE.len() as u64).unwrap_or(0);
    let translations = CATALOGUE.get(index).unwrap_or(&CATALOGUE[0]);
    let wanted = language.unwrap_or(DEFAULT_LANGUAGE);
    translations
        .iter()
        .find(|(lang, _)| lang.eq_ignore_ascii_case(wanted))
        .copied()
        .unwrap_or(translations[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_id_and_language() {
        assert_eq!(quote_for(10_000, None), ("en", "Measure twice, cut once."));
        assert_eq!(
            quote_for(10_001, Some("sv")),
            ("sv", "Bättre sent än aldrig.")
        );
        assert_eq!(quote_for(10_001, Some("SV")).0, "sv");
    }

    #[test]
    fn unknown_language_falls_back_to_english() {
        assert_eq!(
            quote_for(10_002, Some("xx")),
            ("en", "Many hands make light work.")
        );
    }
}
