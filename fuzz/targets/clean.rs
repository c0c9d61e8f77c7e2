//! Every cleaning step a mapping can name, in any order, on any text: no panic, and the
//! contracts the runner's counts rely on: a step that returns `Cow` borrows exactly when it
//! changed nothing, every step is idempotent (a value cleaned twice is the value cleaned once,
//! so a re-run never counts a second normalisation), and the house-number fold changes nothing
//! but dashes standing between two digits.

use std::borrow::Cow;
use std::collections::BTreeMap;

use arbitrary::Unstructured;
use pmhlink_rules::clean::{
    clean_identifier, fold_fullwidth_digits, fold_house_number_dashes, fold_small_kana, map_gaiji,
    normalise_kana_separator, widen_halfwidth_kana,
};
use pmhlink_rules::era::{DateMode, EraTable};
use pmhlink_runner::clean::{CleanContext, Normalisations, Step, apply};

/// The input: a count of steps (up to 15), a byte per step, a byte whose low bit picks the
/// lenient date mode, then the value (UTF-8, or the input is skipped).
struct Input {
    steps: Vec<u8>,
    lenient: bool,
    value: String,
}

fn input(data: &[u8]) -> arbitrary::Result<Input> {
    let mut u = Unstructured::new(data);
    let n = u.arbitrary::<u8>()? % 16;
    let steps = (0..n)
        .map(|_| u.arbitrary::<u8>())
        .collect::<Result<_, _>>()?;
    let lenient = u.arbitrary::<bool>()?;
    let value = std::str::from_utf8(u.take_rest())
        .map_err(|_| arbitrary::Error::IncorrectFormat)?
        .to_owned();
    Ok(Input {
        steps,
        lenient,
        value,
    })
}

type CowStep = fn(&str) -> Cow<'_, str>;

const COW_STEPS: [(&str, CowStep); 4] = [
    ("widen_halfwidth_kana", widen_halfwidth_kana),
    ("fold_fullwidth_digits", fold_fullwidth_digits),
    ("clean_identifier", clean_identifier),
    ("fold_house_number_dashes", fold_house_number_dashes),
];

fn gaiji_table() -> BTreeMap<String, String> {
    BTreeMap::from([("\u{E000}".to_owned(), "髙".to_owned())])
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn check_cow_steps(value: &str) {
    for (name, step) in COW_STEPS {
        let once = step(value);
        if let Cow::Owned(new) = &once {
            assert!(
                new != value,
                "{name} returned a copy without changing anything"
            );
        }
        assert!(
            matches!(step(&once), Cow::Borrowed(_)),
            "{name} is not idempotent"
        );
    }
    let kana = normalise_kana_separator(value);
    assert_eq!(
        normalise_kana_separator(&kana),
        kana,
        "kana separator idempotent"
    );
    let small = fold_small_kana(value);
    assert_eq!(fold_small_kana(&small), small, "small kana fold idempotent");
    let table = gaiji_table();
    if let Ok(mapped) = map_gaiji(value, &table) {
        if let Cow::Owned(new) = &mapped {
            assert!(
                new != value,
                "map_gaiji returned a copy without changing anything"
            );
        }
        assert!(matches!(map_gaiji(&mapped, &table), Ok(Cow::Borrowed(_))));
    }
}

fn check_dashes_only(value: &str) {
    let folded = fold_house_number_dashes(value);
    let before: Vec<char> = value.chars().collect();
    let after: Vec<char> = folded.chars().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "the dash fold keeps every character"
    );
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if b != a {
            assert!(matches!(a, '-' | '－'), "the dash fold writes only hyphens");
            let between = i > 0 && i + 1 < before.len();
            assert!(
                between && is_digit(before[i - 1]) && is_digit(before[i + 1]),
                "the dash fold changes only a dash between two digits"
            );
        }
    }
}

pub fn run(data: &[u8]) {
    let Ok(input) = input(data) else {
        return;
    };
    check_cow_steps(&input.value);
    check_dashes_only(&input.value);
    let era = EraTable::default();
    let gaiji = gaiji_table();
    let ctx = CleanContext {
        era: &era,
        date_mode: if input.lenient {
            DateMode::Lenient
        } else {
            DateMode::Strict
        },
        gaiji: &gaiji,
    };
    let steps: Vec<Step> = input
        .steps
        .iter()
        .map(|&b| Step::ALL[usize::from(b) % Step::ALL.len()])
        .collect();
    let mut counts = Normalisations::default();
    let _ = apply(&input.value, &steps, &ctx, &mut counts);
    for step in Step::ALL {
        let Ok(once) = apply(&input.value, &[step], &ctx, &mut counts) else {
            continue;
        };
        let mut again_counts = Normalisations::default();
        let twice = apply(&once.value, &[step], &ctx, &mut again_counts)
            .expect("a cleaned value cleans again");
        assert_eq!(twice.value, once.value, "{} is not idempotent", step.name());
        assert_eq!(
            again_counts.count(step),
            0,
            "{} counted a second time",
            step.name()
        );
    }
}
