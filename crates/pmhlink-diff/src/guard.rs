//! The mass-change guard: a run that would make PMH drop many certificates at once is far more
//! likely a broken export or join than a real mass ending, and once sent, clinics see the
//! certificates vanish. Such a run stops before anything is sent, until an operator confirms
//! the exact number.

use std::fmt;

use crate::counts::Counts;

/// The share of PMH's rows one unconfirmed run may remove.
pub const DEFAULT_MAX_REMOVAL_SHARE: f64 = 0.05;

#[derive(Clone, Debug, PartialEq)]
pub struct GuardPolicy {
    /// At most `floor(baseline × share)` removals pass without confirmation.
    pub max_removal_share: f64,
    /// The operator's `--confirm-deletions N`. An exact number rather than a yes, so that a
    /// confirmation given for one run cannot wave through a different, larger one.
    pub confirmed_removals: Option<u64>,
}

impl Default for GuardPolicy {
    fn default() -> GuardPolicy {
        GuardPolicy {
            max_removal_share: DEFAULT_MAX_REMOVAL_SHARE,
            confirmed_removals: None,
        }
    }
}

/// Why a run was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardStop {
    /// The export had no rows while PMH holds some.
    Empty { baseline: u64 },
    /// Too many removals for an unconfirmed run.
    TooMany {
        removals: u64,
        baseline: u64,
        limit: u64,
    },
    /// The operator confirmed a number that is not this run's.
    ConfirmationMismatch { confirmed: u64, removals: u64 },
}

impl fmt::Display for GuardStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            // With nothing observed and nothing held, every baseline row is a removal, so the
            // number to confirm is the baseline.
            GuardStop::Empty { baseline } => write!(
                f,
                "the export has no rows while PMH holds {baseline} history rows; nothing was \
                 sent. Check the export, or run again with --confirm-deletions {baseline} if \
                 this is intended"
            ),
            GuardStop::TooMany {
                removals,
                baseline,
                limit,
            } => write!(
                f,
                "this run would remove {removals} of the {baseline} history rows PMH holds, \
                 more than the {limit} allowed without confirmation; nothing was sent. Run \
                 again with --confirm-deletions {removals} if this is intended"
            ),
            GuardStop::ConfirmationMismatch {
                confirmed,
                removals,
            } => write!(
                f,
                "--confirm-deletions {confirmed} was given but this run would remove {removals} \
                 history rows; nothing was sent. Run again with --confirm-deletions {removals} \
                 if this is intended"
            ),
        }
    }
}

impl std::error::Error for GuardStop {}

/// Whether a run may be sent. A confirmation is checked first and, when it matches, overrides
/// every other rule; without one, an empty export and too many removals stop the run.
pub fn guard(counts: &Counts, policy: &GuardPolicy) -> Result<(), GuardStop> {
    let removals = counts.removals();
    if let Some(confirmed) = policy.confirmed_removals {
        return if confirmed == removals {
            Ok(())
        } else {
            Err(GuardStop::ConfirmationMismatch {
                confirmed,
                removals,
            })
        };
    }
    if counts.baseline == 0 {
        return Ok(());
    }
    if counts.current == 0 && counts.held == 0 {
        return Err(GuardStop::Empty {
            baseline: counts.baseline,
        });
    }
    let limit = removal_limit(counts.baseline, policy.max_removal_share);
    if removals > limit {
        return Err(GuardStop::TooMany {
            removals,
            baseline: counts.baseline,
            limit,
        });
    }
    Ok(())
}

fn removal_limit(baseline: u64, share: f64) -> u64 {
    // Shares are written as decimals (0.3) that binary floats hold slightly low, so 10 × 0.3
    // must not floor to 2; the tolerance is far below one row for any real baseline. A NaN or
    // negative share saturates to 0, the strict side.
    (baseline as f64 * share + 1e-9).floor() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        /// (baseline, current, held, delete, omit)
        counts: (u64, u64, u64, u64, u64),
        share: f64,
        confirmed: Option<u64>,
        expected: Result<(), GuardStop>,
    }

    const D: f64 = DEFAULT_MAX_REMOVAL_SHARE;

    #[test]
    fn table() {
        use GuardStop::*;
        let cases = [
            Case {
                name: "default share, at the limit",
                counts: (100, 95, 0, 5, 0),
                share: D,
                confirmed: None,
                expected: Ok(()),
            },
            Case {
                name: "default share, one over",
                counts: (100, 94, 0, 6, 0),
                share: D,
                confirmed: None,
                expected: Err(TooMany {
                    removals: 6,
                    baseline: 100,
                    limit: 5,
                }),
            },
            Case {
                name: "omissions count like deletions",
                counts: (100, 94, 0, 0, 6),
                share: D,
                confirmed: None,
                expected: Err(TooMany {
                    removals: 6,
                    baseline: 100,
                    limit: 5,
                }),
            },
            Case {
                name: "limit is floored",
                counts: (39, 38, 0, 1, 0),
                share: D,
                confirmed: None,
                expected: Ok(()),
            },
            Case {
                name: "small baseline allows no removal",
                counts: (19, 18, 0, 1, 0),
                share: D,
                confirmed: None,
                expected: Err(TooMany {
                    removals: 1,
                    baseline: 19,
                    limit: 0,
                }),
            },
            Case {
                name: "decimal share is not floored below its value",
                counts: (10, 7, 0, 3, 0),
                share: 0.3,
                confirmed: None,
                expected: Ok(()),
            },
            Case {
                name: "NaN share is strict",
                counts: (1000, 999, 0, 1, 0),
                share: f64::NAN,
                confirmed: None,
                expected: Err(TooMany {
                    removals: 1,
                    baseline: 1000,
                    limit: 0,
                }),
            },
            Case {
                name: "empty export",
                counts: (10, 0, 0, 0, 10),
                share: D,
                confirmed: None,
                expected: Err(Empty { baseline: 10 }),
            },
            Case {
                name: "empty export even with a share that allows it",
                counts: (10, 0, 0, 10, 0),
                share: 1.0,
                confirmed: None,
                expected: Err(Empty { baseline: 10 }),
            },
            Case {
                name: "only held rows is not empty",
                counts: (10, 0, 1, 0, 0),
                share: D,
                confirmed: None,
                expected: Ok(()),
            },
            Case {
                name: "empty export, confirmed",
                counts: (10, 0, 0, 10, 0),
                share: D,
                confirmed: Some(10),
                expected: Ok(()),
            },
            Case {
                name: "too many, confirmed exactly",
                counts: (100, 50, 0, 50, 0),
                share: D,
                confirmed: Some(50),
                expected: Ok(()),
            },
            Case {
                name: "confirmation lower than the removals",
                counts: (100, 50, 0, 50, 0),
                share: D,
                confirmed: Some(49),
                expected: Err(ConfirmationMismatch {
                    confirmed: 49,
                    removals: 50,
                }),
            },
            Case {
                name: "confirmation higher than the removals, even within the limit",
                counts: (100, 99, 0, 1, 0),
                share: D,
                confirmed: Some(2),
                expected: Err(ConfirmationMismatch {
                    confirmed: 2,
                    removals: 1,
                }),
            },
            Case {
                name: "zero baseline",
                counts: (0, 0, 0, 0, 0),
                share: D,
                confirmed: None,
                expected: Ok(()),
            },
            Case {
                name: "zero baseline, first upload",
                counts: (0, 500, 0, 0, 0),
                share: 0.0,
                confirmed: None,
                expected: Ok(()),
            },
            Case {
                name: "zero baseline, confirmed zero",
                counts: (0, 0, 0, 0, 0),
                share: D,
                confirmed: Some(0),
                expected: Ok(()),
            },
        ];
        for case in cases {
            let (baseline, current, held, delete, omit) = case.counts;
            let counts = Counts {
                baseline,
                current,
                held,
                delete,
                omit,
                ..Counts::default()
            };
            let policy = GuardPolicy {
                max_removal_share: case.share,
                confirmed_removals: case.confirmed,
            };
            assert_eq!(guard(&counts, &policy), case.expected, "{}", case.name);
        }
    }

    #[test]
    fn default_policy() {
        let policy = GuardPolicy::default();
        assert_eq!(policy.max_removal_share, 0.05);
        assert_eq!(policy.confirmed_removals, None);
    }

    #[test]
    fn messages_name_the_counts_and_the_confirmation() {
        let table = [
            (
                GuardStop::Empty { baseline: 12 },
                [
                    "holds 12 history rows",
                    "--confirm-deletions 12 if this is intended",
                ],
            ),
            (
                GuardStop::TooMany {
                    removals: 7,
                    baseline: 100,
                    limit: 5,
                },
                [
                    "remove 7 of the 100",
                    "--confirm-deletions 7 if this is intended",
                ],
            ),
            (
                GuardStop::ConfirmationMismatch {
                    confirmed: 3,
                    removals: 4,
                },
                [
                    "--confirm-deletions 3 was given",
                    "--confirm-deletions 4 if this is intended",
                ],
            ),
        ];
        for (stop, parts) in table {
            let text = stop.to_string();
            for part in parts {
                assert!(text.contains(part), "{text:?} lacks {part:?}");
            }
        }
    }
}
