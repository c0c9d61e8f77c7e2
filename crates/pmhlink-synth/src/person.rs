//! One synthetic person: the resident record, the 支援措置 entry if any, and the certificates.

use pmhlink_rules::CivilDate;
use pmhlink_rules::check_digit::with_my_number_check_digit;
use pmhlink_rules::date::days_in_month;

use crate::address::Address;
use crate::certificate::{
    CertificatePlan, HistorySlots, SynthCertificate, SynthPeriod, draw_certificate,
    recipient_number,
};
use crate::defect::{Defect, DefectScope};
use crate::municipality::Programme;
use crate::names::{FAMILY_GAIJI, PersonName};
use crate::rng::{SplitMix64, Stream};
use crate::synth::Synth;

/// An entry of the 支援措置 (DV etc.) list: the person's information is withheld while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShienEntry {
    pub start: CivilDate,
    /// `None`: until further notice.
    pub end: Option<CivilDate>,
}

impl ShienEntry {
    pub fn active_on(&self, day: CivilDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| day <= end)
    }
}

#[derive(Clone, Debug)]
pub struct SynthPerson<'m> {
    pub index: u64,
    /// 宛名番号: the municipality's internal person number, 10 digits.
    pub atena_number: String,
    pub my_number: String,
    pub name: PersonName,
    pub birth: CivilDate,
    /// `1` male, `2` female, as the resident record holds it.
    pub sex: &'static str,
    pub address: Address,
    pub shien: Option<ShienEntry>,
    /// 不開示フラグ on the reference day: the 支援措置 entry is running then.
    pub is_not_disclosed: bool,
    /// A defect of [`DefectScope::Person`].
    pub defect: Option<Defect>,
    pub certificates: Vec<SynthCertificate<'m>>,
}

const TWO_CERTIFICATES_PER_MILLE: u64 = 250;

fn date_or_earlier(year: u16, month: u8, day: u8) -> CivilDate {
    CivilDate::new(year, month, day.min(days_in_month(year, month))).expect("clamped to the month")
}

fn draw_birth(rng: &mut SplitMix64, age: u16, as_of: CivilDate) -> CivilDate {
    let month = rng.between(1, 12) as u8;
    let day = rng.between(1, 31) as u8;
    let birth = date_or_earlier(as_of.year() - age, month, day);
    if birth > as_of {
        date_or_earlier(birth.year() - 1, month, day)
    } else {
        birth
    }
}

/// With probability `share`, a 支援措置 entry: four in five began before `as_of` and run
/// through it (half of them until further notice), the rest ended years before.
fn draw_shien(rng: &mut SplitMix64, as_of: CivilDate, share: f64) -> Option<ShienEntry> {
    if !rng.chance(share) {
        return None;
    }
    let month = rng.between(1, 12) as u8;
    if rng.chance(0.8) {
        let start = date_or_earlier(as_of.year() - rng.between(0, 3) as u16, month, 1);
        let start = if start > as_of {
            date_or_earlier(start.year() - 1, month, 1)
        } else {
            start
        };
        let end = rng
            .chance(0.5)
            .then(|| date_or_earlier(as_of.year() + 1, month, 31));
        Some(ShienEntry { start, end })
    } else {
        let start = date_or_earlier(as_of.year() - rng.between(3, 5) as u16, month, 1);
        Some(ShienEntry {
            start,
            end: Some(date_or_earlier(start.year() + 1, month, 31)),
        })
    }
}

fn programme_for_age<'m>(
    rng: &mut SplitMix64,
    programmes: impl Iterator<Item = &'m Programme>,
    age: u16,
) -> Option<&'m Programme> {
    let candidates: Vec<&Programme> = programmes.filter(|p| p.ages.contains(&age)).collect();
    let weights: Vec<u32> = candidates.iter().map(|p| p.weight).collect();
    (!candidates.is_empty()).then(|| candidates[rng.weighted(&weights)])
}

impl<'m> SynthPerson<'m> {
    /// Person `index` of `synth`, holding at most `max_certificates` (at least one).
    pub(crate) fn draw(synth: &'m Synth, index: u64, max_certificates: u64) -> Self {
        let config = synth.config();
        let as_of = config.as_of;
        let municipality = synth.municipality();
        let mut rng = SplitMix64::derive(config.seed, Stream::Person, index);

        let weights: Vec<u32> = municipality.programmes.iter().map(|p| p.weight).collect();
        let first = &municipality.programmes[rng.weighted(&weights)];
        let age = rng.between(u64::from(*first.ages.start()), u64::from(*first.ages.end())) as u16;
        let birth = draw_birth(&mut rng, age, as_of);
        let female = rng.chance(0.5);
        let name = PersonName::draw(&mut rng, female);
        let address = Address::draw(&mut rng, municipality.prefecture_name(), municipality.name);
        let shien = draw_shien(&mut rng, as_of, config.support_measures);

        let wants_two = rng.below(1000) < TWO_CERTIFICATES_PER_MILLE && max_certificates >= 2;
        let share_number = rng.chance(0.5);
        let second = if !wants_two {
            None
        } else if first.allows_sub_keys && share_number {
            Some(first)
        } else {
            let others = municipality
                .programmes
                .iter()
                .filter(|p| p.type_id != first.type_id);
            programme_for_age(&mut rng, others, age)
        };

        let mut plan = |programme: &'m Programme, sub_key| {
            let scramble = synth.recipient_scramble(programme);
            let (number, follows) = recipient_number(programme, scramble, index, &mut rng);
            CertificatePlan {
                programme,
                recipient_number: number,
                recipient_follows_rule: follows,
                sub_key,
            }
        };
        let plans = match second {
            None => vec![plan(first, None)],
            Some(p) if p.type_id == first.type_id => {
                let shared = plan(first, Some("01"));
                let twin = CertificatePlan {
                    sub_key: Some("02"),
                    recipient_number: shared.recipient_number.clone(),
                    ..shared
                };
                vec![shared, twin]
            }
            Some(p) => vec![plan(first, None), plan(p, None)],
        };
        let mut certificates: Vec<SynthCertificate<'m>> = Vec::with_capacity(plans.len());
        for (k, plan) in plans.into_iter().enumerate() {
            let taken = certificates.first().and_then(|c| c.disease);
            // Two certificates of three periods each fit in a person's ten slots.
            let history = HistorySlots {
                scramble: synth.history_scramble(),
                first: index * 10 + k as u64 * 3,
            };
            certificates.push(draw_certificate(
                plan, birth, as_of, history, taken, &mut rng,
            ));
        }

        let body = synth.my_number_scramble().digits(index, 11);
        let mut person = SynthPerson {
            index,
            atena_number: synth.atena_scramble().digits(index, 10),
            my_number: with_my_number_check_digit(&body),
            name,
            birth,
            sex: if female { "2" } else { "1" },
            address,
            is_not_disclosed: shien.is_some_and(|s| s.active_on(as_of)),
            shien,
            defect: None,
            certificates,
        };
        person.place_defects(config.seed, config.dirty);
        person
    }

    /// Gives each certificate, with probability `dirty`, exactly one defect. Defects of the
    /// person go only to people with one certificate, so no certificate ends up with two.
    /// Drawn from their own stream: the people are the same whatever `dirty` is.
    fn place_defects(&mut self, seed: u64, dirty: f64) {
        let mut rng = SplitMix64::derive(seed, Stream::Defect, self.index);
        let single = self.certificates.len() == 1;
        for k in 0..2 {
            let (hit, kind_roll, detail_roll) = (rng.chance(dirty), rng.next_u64(), rng.next_u64());
            let Some(cert) = self.certificates.get_mut(k).filter(|_| hit) else {
                continue;
            };
            let applicable: Vec<Defect> = Defect::ALL
                .into_iter()
                .filter(|d| match d.scope() {
                    DefectScope::Person => single,
                    DefectScope::Certificate => cert.is_national(),
                    DefectScope::Period => true,
                })
                .collect();
            let mut defect = applicable[(kind_roll % applicable.len() as u64) as usize];
            match defect.scope() {
                DefectScope::Person => {
                    if defect == Defect::UnmappedGaiji {
                        self.name.family =
                            FAMILY_GAIJI[(detail_roll % FAMILY_GAIJI.len() as u64) as usize];
                    }
                    self.defect = Some(defect);
                }
                DefectScope::Certificate => cert.defect = Some(defect),
                DefectScope::Period => {
                    let at = (detail_roll % cert.periods.len() as u64) as usize;
                    let period = &mut cert.periods[at];
                    // Swapping a one-day period would change nothing.
                    if defect == Defect::InvertedPeriod && period.valid_from == period.valid_to {
                        defect = Defect::ImpossibleEndDate;
                    }
                    period.defect = Some(defect);
                }
            }
        }
    }

    /// The one defect, if any, that quarantines `period` of `cert`.
    pub fn defect_of(&self, cert: &SynthCertificate<'_>, period: &SynthPeriod) -> Option<Defect> {
        self.defect.or(cert.defect).or(period.defect)
    }
}
