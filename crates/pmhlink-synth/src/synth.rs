//! The generator: configuration, the stream of people, and one pass that feeds every export.

use std::io;

use pmhlink_rules::CivilDate;

use crate::certificate::recipient_modulus;
use crate::municipality::{Municipality, Programme};
use crate::person::SynthPerson;
use crate::rng::{SplitMix64, Stream};
use crate::scramble::IdScramble;

#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    pub seed: u64,
    /// Certificates to generate; people are drawn until exactly this many exist.
    pub certificates: u64,
    /// Share of certificates that carry exactly one defect, in `[0, 1]`.
    pub dirty: f64,
    /// Share of people on the 支援措置 (DV etc.) list, in `[0, 1]`; most of their entries are
    /// in force on `as_of` (the 不開示フラグ), some ended years before. The roll takes one draw
    /// of the person's stream whatever the share; a person given an entry draws its dates from
    /// that stream too, so changing the share redraws those people's certificates.
    pub support_measures: f64,
    /// The reference day ("today"): periods run through it, births precede it, and the
    /// 不開示フラグ is read on it. A pipeline checking the output must use the same day.
    pub as_of: CivilDate,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 1,
            certificates: 1000,
            dirty: 0.0,
            support_measures: 0.005,
            as_of: CivilDate::new(2025, 6, 1).expect("a real date"),
        }
    }
}

/// What consumes the people one at a time: an export, the expected output, a counter.
pub trait PersonSink {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()>;
    /// Writes what follows the last person (a trailer) and flushes.
    fn finish(&mut self) -> io::Result<()>;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub people: u64,
    pub certificates: u64,
    pub periods: u64,
    pub defective_certificates: u64,
    pub quarantined_periods: u64,
}

#[derive(Clone, Debug)]
pub struct Synth {
    config: SynthConfig,
    municipality: Municipality,
    my_numbers: IdScramble,
    atena_numbers: IdScramble,
    history_numbers: IdScramble,
    /// One per programme, in the municipality's order.
    recipients: Vec<IdScramble>,
}

impl Synth {
    pub fn new(config: SynthConfig) -> Self {
        Synth::with_municipality(config, Municipality::sakurano())
    }

    pub fn with_municipality(config: SynthConfig, municipality: Municipality) -> Self {
        assert!(
            (0.0..=1.0).contains(&config.dirty),
            "dirty must lie in [0, 1]"
        );
        assert!(
            (0.0..=1.0).contains(&config.support_measures),
            "support_measures must lie in [0, 1]"
        );
        let mut rng = SplitMix64::derive(config.seed, Stream::Scramble, 0);
        let my_numbers = IdScramble::new(99_999_999_999, &mut rng);
        let atena_numbers = IdScramble::new(9_999_999_999, &mut rng);
        let history_numbers = IdScramble::new(9_999_999_999, &mut rng);
        let recipients = municipality
            .programmes
            .iter()
            .map(|p| IdScramble::new(recipient_modulus(p.numbering), &mut rng))
            .collect();
        Synth {
            config,
            municipality,
            my_numbers,
            atena_numbers,
            history_numbers,
            recipients,
        }
    }

    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    pub fn municipality(&self) -> &Municipality {
        &self.municipality
    }

    pub(crate) fn my_number_scramble(&self) -> &IdScramble {
        &self.my_numbers
    }

    pub(crate) fn atena_scramble(&self) -> &IdScramble {
        &self.atena_numbers
    }

    pub(crate) fn history_scramble(&self) -> &IdScramble {
        &self.history_numbers
    }

    pub(crate) fn recipient_scramble(&self, programme: &Programme) -> &IdScramble {
        let i = self
            .municipality
            .programmes
            .iter()
            .position(|p| p.type_id == programme.type_id)
            .expect("a programme of this municipality");
        &self.recipients[i]
    }

    /// The people, in index order, until the requested number of certificates is reached.
    pub fn people(&self) -> People<'_> {
        People {
            synth: self,
            next_index: 0,
            remaining: self.config.certificates,
        }
    }

    /// One pass over the people, handing each to every sink, then finishing them all.
    pub fn stream(&self, sinks: &mut [&mut dyn PersonSink]) -> io::Result<Counts> {
        let mut counts = Counts::default();
        for person in self.people() {
            counts.add(&person);
            for sink in sinks.iter_mut() {
                sink.write_person(&person)?;
            }
        }
        for sink in sinks.iter_mut() {
            sink.finish()?;
        }
        Ok(counts)
    }
}

impl Counts {
    fn add(&mut self, person: &SynthPerson<'_>) {
        self.people += 1;
        for cert in &person.certificates {
            self.certificates += 1;
            self.periods += cert.periods.len() as u64;
            let quarantined = cert
                .periods
                .iter()
                .filter(|p| person.defect_of(cert, p).is_some())
                .count() as u64;
            self.quarantined_periods += quarantined;
            self.defective_certificates += u64::from(quarantined > 0);
        }
    }
}

pub struct People<'s> {
    synth: &'s Synth,
    next_index: u64,
    remaining: u64,
}

impl<'s> Iterator for People<'s> {
    type Item = SynthPerson<'s>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let person = SynthPerson::draw(self.synth, self.next_index, self.remaining);
        self.next_index += 1;
        self.remaining -= person.certificates.len() as u64;
        Some(person)
    }
}
