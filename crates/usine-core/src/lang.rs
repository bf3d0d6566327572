//! The language of what the core writes for people: check results, why a job waits, chart
//! labels, notifications and the errors a newcomer meets first. Process-wide, like a C locale:
//! the app sets it to the language the UI shows; the CLI, whose own words are English, stays
//! in English.
//! Messages are written with [`tr!`](crate::tr), English and French side by side, so a
//! sentence and its translation are read (and changed) together.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A language the core writes in; anything else falls back to English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

static PROCESS: AtomicU8 = AtomicU8::new(0);

thread_local! {
    /// A language for this thread only (tests run in parallel in one process).
    static THREAD: Cell<Option<Lang>> = const { Cell::new(None) };
}

pub fn set(lang: Lang) {
    PROCESS.store(lang as u8, Ordering::Relaxed);
}

pub fn current() -> Lang {
    THREAD
        .with(Cell::get)
        .unwrap_or(match PROCESS.load(Ordering::Relaxed) {
            1 => Lang::Fr,
            _ => Lang::En,
        })
}

/// A catalogue entry's words in both languages, as the data files write them: English at the
/// entry's top level, French under its `fr` table.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Both<W> {
    #[serde(flatten)]
    pub en: W,
    pub fr: W,
}

impl<W> Both<W> {
    /// The words in the current language.
    pub fn current(self) -> W {
        match current() {
            Lang::En => self.en,
            Lang::Fr => self.fr,
        }
    }
}

/// Runs `f` with `lang` as this thread's language.
pub fn with<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    let before = THREAD.with(|t| t.replace(Some(lang)));
    let out = f();
    THREAD.with(|t| t.set(before));
    out
}

/// A message in the current language: `tr!(en: "{} left", fr: "il reste {}", hours)`.
#[macro_export]
macro_rules! tr {
    (en: $en:literal, fr: $fr:literal $(, $($args:tt)*)?) => {
        match $crate::lang::current() {
            $crate::lang::Lang::Fr => format!($fr $(, $($args)*)?),
            $crate::lang::Lang::En => format!($en $(, $($args)*)?),
        }
    };
}

/// A number as the current language writes it: `0.5` in English, `0,5` in French.
pub fn number(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    match current() {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(with(Lang::Fr, || number(0.25, 2)), "0,25");
        assert_eq!(with(Lang::En, || number(0.25, 2)), "0.25");
        assert_eq!(with(Lang::Fr, || number(40.0, 0)), "40");
    }

    #[test]
    fn a_message_follows_the_language() {
        let hours = 3;
        let say = || tr!(en: "{} hours left", fr: "il reste {} heures", hours);
        assert_eq!(with(Lang::Fr, say), "il reste 3 heures");
        assert_eq!(with(Lang::En, say), "3 hours left");
    }
}
