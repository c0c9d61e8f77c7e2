//! What serde cannot see: references between sections, uniqueness, required fields. Every
//! problem is collected (not just the first), each naming its key path, so one `pmhlink check`
//! shows everything to fix. Columns themselves are checked by the runner against what the
//! source plugins discover.

use std::collections::{BTreeMap, BTreeSet};

use pmhlink_model::FieldId;
use pmhlink_profile::SyncMode;
use pmhlink_rules::CivilDate;
use pmhlink_rules::codes::prefecture_name;

use crate::error::{KeyPath, list};
use crate::mapping::{ColumnRef, Mapping, ValueSource};
use crate::model::Pipeline;

/// PMH fields every pipeline must map. `history_key` is not among them: when a pipeline does
/// not map it, pmhlink derives one from the certificate's identity (without the My Number)
/// and `valid_from`.
pub const REQUIRED_FIELDS: [FieldId; 13] = [
    FieldId::TypeId,
    FieldId::MyNumber,
    FieldId::Name,
    FieldId::NameKana,
    FieldId::Address,
    FieldId::DateOfBirth,
    FieldId::Sex,
    FieldId::IsNotDisclosed,
    FieldId::CertificationName,
    FieldId::IsAlwaysReimbursement,
    FieldId::ValidFrom,
    FieldId::ValidTo,
    FieldId::CertificationDetail,
];

/// The fields a pipeline syncing with `sync` must map, in `FieldId` order: [`REQUIRED_FIELDS`]
/// whatever the mode (`history_key` is derived when not mapped).
pub fn required_fields(sync: SyncMode) -> Vec<FieldId> {
    let _ = sync;
    let mut fields = REQUIRED_FIELDS.to_vec();
    fields.sort();
    fields
}

type Problems = Vec<(KeyPath, String)>;

fn root() -> KeyPath {
    KeyPath::root()
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// The closest of `candidates` to `s`, if close enough to be a typing slip.
pub(crate) fn did_you_mean<'a>(
    s: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(s, c), c))
        .filter(|&(d, c)| d > 0 && d <= 2.max(c.chars().count() / 4))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn suggestion<'a>(s: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(s, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

pub(crate) fn validate(p: &Pipeline) -> Problems {
    let mut out = Vec::new();
    municipality(p, &mut out);
    rules(p, &mut out);
    programs(p, &mut out);
    let reach = sources_and_joins(p, &mut out);
    let program_column = root().key("program").key("column");
    if let Some(primary) = primary(p)
        && p.program.column.source != primary
    {
        out.push((
            program_column.clone(),
            format!(
                "`{program_column}`: the programme column must be a column of the primary \
                 source `{primary}`, not of `{}`",
                p.program.column.source
            ),
        ));
    }
    if let Some(key) = &p.report.quarantine_key
        && let Some(primary) = primary(p)
        && key.source != primary
    {
        let k = root().key("report").key("quarantine_key");
        out.push((
            k.clone(),
            format!(
                "`{k}`: the quarantine list's key must be a column of the primary source \
                 `{primary}`, not of `{}`",
                key.source
            ),
        ));
    }
    mapping(p, &reach, &mut out);
    guard(p, &mut out);
    out
}

fn municipality(p: &Pipeline, out: &mut Problems) {
    let at = root().key("municipality");
    let code = &p.municipality.code;
    if !is_digits(code, 6) {
        out.push((
            at.key("code"),
            format!("`{}`: 団体コード is six digits", at.key("code")),
        ));
    } else if prefecture_name(&code[..2]).is_none() {
        out.push((
            at.key("code"),
            format!(
                "`{}`: a 団体コード starts with a prefecture number 01–47",
                at.key("code")
            ),
        ));
    }
    if p.municipality.name.trim().is_empty() {
        out.push((at.key("name"), format!("`{}`: is empty", at.key("name"))));
    }
}

fn rules(p: &Pipeline, out: &mut Problems) {
    let at = root().key("rules");
    for (i, lp) in p.rules.local_programs.iter().enumerate() {
        let at = at.key("local_programs").index(i);
        if prefecture_name(&lp.prefecture).is_none() {
            let k = at.key("prefecture");
            out.push((
                k.clone(),
                format!("`{k}`: a prefecture number is two digits, 01–47"),
            ));
        }
        if !is_digits(&lp.houbetsu, 2) {
            let k = at.key("houbetsu");
            out.push((k.clone(), format!("`{k}`: a 法別番号 is two digits")));
        }
        if let Some(agency) = &lp.agency
            && !(agency.len() == 3 && agency.bytes().all(|b| b.is_ascii_digit() || b == b'?'))
        {
            let k = at.key("agency");
            out.push((
                k.clone(),
                format!("`{k}`: an agency pattern is three digits or `?`"),
            ));
        }
        if let Some(from) = &lp.valid_from
            && CivilDate::parse_iso(from).is_err()
        {
            let k = at.key("valid_from");
            out.push((k.clone(), format!("`{k}`: not a `YYYY-MM-DD` date")));
        }
    }
    for from in p.rules.gaiji.keys() {
        if from.chars().count() != 1 {
            let k = at.key("gaiji").key(from.clone());
            out.push((k.clone(), format!("`{k}`: a 外字 key is one character")));
        }
    }
    if let Some(sent_as) = &p.rules.open_end.sent_as
        && CivilDate::parse_iso(sent_as).is_err()
    {
        let k = at.key("open_end").key("sent_as");
        out.push((
            k.clone(),
            format!("`{k}`: not a `YYYY-MM-DD` date (the built-in profile's is `9999-12-31`)"),
        ));
    }
}

fn guard(p: &Pipeline, out: &mut Problems) {
    if !(0.0..=1.0).contains(&p.guard.max_deletion_share) {
        let k = root().key("guard").key("max_deletion_share");
        out.push((
            k.clone(),
            format!("`{k}`: a share is between 0.0 and 1.0 (0.05 = 5 % of the rows PMH holds)"),
        ));
    }
}

fn programs(p: &Pipeline, out: &mut Problems) {
    if p.programs.is_empty() {
        out.push((
            root().key("programs"),
            "`programs`: no programme is declared; add a `[[programs]]` entry per programme code"
                .into(),
        ));
    }
    let mut ignored: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, code) in p.program.ignore.iter().enumerate() {
        let k = root().key("program").key("ignore").index(i);
        if let Some(first) = ignored.insert(code, i) {
            out.push((
                k.clone(),
                format!(
                    "`{k}`: programme code `{code}` is already given at `program.ignore[{first}]`"
                ),
            ));
            ignored.insert(code, first);
        }
        if code.is_empty() {
            out.push((k.clone(), format!("`{k}`: is empty")));
        }
        if let Some(at) = p.programs.iter().position(|prog| prog.code == *code) {
            out.push((
                k.clone(),
                format!(
                    "`{k}`: programme code `{code}` is declared at `programs[{at}]`; a code is \
                     either sent or ignored"
                ),
            ));
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, prog) in p.programs.iter().enumerate() {
        let at = root().key("programs").index(i);
        if let Some(first) = seen.insert(&prog.code, i) {
            let k = at.key("code");
            out.push((
                k.clone(),
                format!(
                    "`{k}`: programme code `{}` is already given at `programs[{first}]`",
                    prog.code
                ),
            ));
            seen.insert(&prog.code, first);
        }
        if prog.code.is_empty() {
            let k = at.key("code");
            out.push((k.clone(), format!("`{k}`: is empty")));
        }
        let t = &prog.type_id;
        if t.is_empty() || t.len() > 50 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            let k = at.key("type_id");
            out.push((
                k.clone(),
                format!("`{k}`: a type ID is 1–50 ASCII letters and digits"),
            ));
        }
        if prog.certification_name.trim().is_empty() {
            let k = at.key("certification_name");
            out.push((k.clone(), format!("`{k}`: is empty")));
        }
        if let Some(n) = &prog.insurer_number
            && !is_digits(n, 8)
        {
            let k = at.key("insurer_number");
            out.push((
                k.clone(),
                format!("`{k}`: a 公費負担者番号 is eight digits"),
            ));
        }
    }
}

fn primary(p: &Pipeline) -> Option<&str> {
    let mut primaries = p.sources.iter().filter(|(_, s)| s.primary);
    match (primaries.next(), primaries.next()) {
        (Some((name, _)), None) => Some(name),
        _ => None,
    }
}

/// What references may name. Each problem is reported once, where it starts: a source that
/// is never joined is reported at `sources.<name>`, not again at every column naming it, and
/// without a single primary source reachability is not judged at all.
struct Reach {
    /// Exactly one source is primary.
    settled: bool,
    /// The primary source (required) and each joined source with whether its join is
    /// required.
    joined: BTreeMap<String, bool>,
}

fn sources_and_joins(p: &Pipeline, out: &mut Problems) -> Reach {
    let names = || p.sources.keys().map(String::as_str);
    if p.sources.is_empty() {
        out.push((
            root().key("sources"),
            "`sources`: no source is declared".into(),
        ));
    }
    for (name, s) in &p.sources {
        let at = root().key("sources").key(name.clone());
        if name.is_empty() || name.contains('.') || name.chars().any(char::is_whitespace) {
            out.push((
                at.clone(),
                format!(
                    "{}: a source name has no dots or spaces (it prefixes column names)",
                    at.describe()
                ),
            ));
        }
        if s.plugin.trim().is_empty() {
            let k = at.key("plugin");
            out.push((k.clone(), format!("`{k}`: is empty")));
        }
    }
    let primaries: Vec<&str> = p
        .sources
        .iter()
        .filter(|(_, s)| s.primary)
        .map(|(n, _)| n.as_str())
        .collect();
    match primaries.as_slice() {
        [] if !p.sources.is_empty() => out.push((
            root().key("sources"),
            "`sources`: no source is primary; set `primary = true` on the one with a row per \
             history row"
                .into(),
        )),
        [] | [_] => {}
        many => out.push((
            root().key("sources"),
            format!(
                "`sources`: {} are all primary; exactly one source may be",
                list(many.iter().copied())
            ),
        )),
    }
    let mut reach = Reach {
        settled: primaries.len() == 1,
        joined: BTreeMap::new(),
    };
    if let [primary] = primaries.as_slice() {
        reach.joined.insert((*primary).to_owned(), true);
    }
    // Sources some valid join brings in, wherever it stands: a `left` naming one of them
    // too early is an ordering mistake, one naming a never-joined source is reported once
    // at that source.
    let joined_somewhere: BTreeSet<&str> = p
        .joins
        .iter()
        .filter(|j| p.sources.get(&j.source).is_some_and(|s| !s.primary))
        .map(|j| j.source.as_str())
        .collect();

    for (i, j) in p.joins.iter().enumerate() {
        let at = root().key("joins").index(i);
        let k = at.key("source");
        match p.sources.get(&j.source) {
            None => out.push((
                k.clone(),
                format!(
                    "`{k}`: source `{}` is not declared in `sources`{}",
                    j.source,
                    suggestion(&j.source, names())
                ),
            )),
            Some(s) if s.primary => out.push((
                k.clone(),
                format!(
                    "`{k}`: `{}` is the primary source; it cannot be joined",
                    j.source
                ),
            )),
            Some(_) if reach.joined.contains_key(&j.source) => out.push((
                k.clone(),
                format!("`{k}`: source `{}` is joined twice", j.source),
            )),
            Some(_) => {}
        }
        let left = at.key("left");
        let l = j.left.source.as_str();
        if !p.sources.contains_key(l) {
            out.push((
                left.clone(),
                format!(
                    "`{left}`: source `{l}` is not declared{}",
                    suggestion(l, names())
                ),
            ));
        } else if reach.settled && !reach.joined.contains_key(l) && joined_somewhere.contains(l) {
            out.push((
                left.clone(),
                format!(
                    "`{left}`: source `{l}` is joined only after this join; a join's `left` \
                     names the primary source or one joined before it"
                ),
            ));
        }
        if j.right.trim().is_empty() {
            let k = at.key("right");
            out.push((k.clone(), format!("`{k}`: is empty")));
        }
        if p.sources.get(&j.source).is_some_and(|s| !s.primary) {
            reach.joined.entry(j.source.clone()).or_insert(j.required);
        }
    }
    if reach.settled {
        for (name, s) in &p.sources {
            if !s.primary && !reach.joined.contains_key(name) {
                let at = root().key("sources").key(name.clone());
                out.push((
                    at.clone(),
                    format!(
                        "{}: source `{name}` is neither primary nor joined; add a `[[joins]]` \
                         entry or remove it",
                        at.describe()
                    ),
                ));
            }
        }
    }
    reach
}

/// A column reference's source must be declared; whether it is reachable is judged at the
/// source (see [`Reach`]).
fn column(c: &ColumnRef, at: &KeyPath, p: &Pipeline, out: &mut Problems) {
    if !p.sources.contains_key(&c.source) {
        out.push((
            at.clone(),
            format!(
                "`{at}`: source `{}` is not declared{}",
                c.source,
                suggestion(&c.source, p.sources.keys().map(String::as_str))
            ),
        ));
    }
}

fn one_mapping(m: &Mapping, at: &KeyPath, p: &Pipeline, reach: &Reach, out: &mut Problems) {
    match &m.source {
        ValueSource::Column(c) => column(c, &at.key("column"), p, out),
        ValueSource::Exists(source) => {
            let k = at.key("exists");
            match reach.joined.get(source) {
                Some(false) => {}
                Some(true) if p.sources.get(source).is_some_and(|s| s.primary) => out.push((
                    k.clone(),
                    format!("`{k}`: `{source}` is the primary source; `exists` names an optional join's source"),
                )),
                Some(true) => out.push((
                    k.clone(),
                    format!("`{k}`: the join of `{source}` is required, so it always exists; set `required = false` on it"),
                )),
                // Declared but unreachable: reported at the source or the primary flags.
                None if p.sources.contains_key(source) => {}
                None => out.push((
                    k.clone(),
                    format!(
                        "`{k}`: `{source}` is not a declared source{}",
                        suggestion(source, p.sources.keys().map(String::as_str))
                    ),
                )),
            }
        }
        ValueSource::Template(t) => {
            let k = at.key("template");
            for f in t.fields() {
                if f == FieldId::CertificationDetail {
                    out.push((
                        k.clone(),
                        format!("`{k}`: `{{certification_detail}}` is a list of items, not text"),
                    ));
                } else if !p.mapping.is_mapped(f) {
                    out.push((
                        k.clone(),
                        format!("`{k}`: `{{{f}}}` refers to a field that is not mapped"),
                    ));
                }
            }
        }
        ValueSource::Constant(_) | ValueSource::Program(_) => {}
    }
}

fn mapping(p: &Pipeline, reach: &Reach, out: &mut Problems) {
    let at = root().key("mapping");
    for (field, m) in p.mapping.iter() {
        one_mapping(m, &at.key(field.name()), p, reach, out);
    }
    if let Some(items) = &p.mapping.certification_detail {
        let at = at.key(FieldId::CertificationDetail.name());
        if items.is_empty() {
            out.push((at.clone(), format!("`{at}`: needs at least one item")));
        }
        for (i, item) in items.iter().enumerate() {
            let at = at.index(i);
            if item.name.trim().is_empty() {
                let k = at.key("name");
                out.push((k.clone(), format!("`{k}`: is empty")));
            }
            one_mapping(&item.value, &at.key("value"), p, reach, out);
        }
    }
    template_cycles(p, out);

    let missing: Vec<&str> = required_fields(p.profile.sync)
        .into_iter()
        .filter(|&f| !p.mapping.is_mapped(f))
        .map(FieldId::name)
        .collect();
    if !missing.is_empty() {
        out.push((
            at,
            format!(
                "`mapping`: required PMH fields are not mapped: {}",
                list(missing)
            ),
        ));
    }
}

/// A template reading a template that reads the first could never be filled.
fn template_cycles(p: &Pipeline, out: &mut Problems) {
    let reads: BTreeMap<FieldId, Vec<FieldId>> = p
        .mapping
        .iter()
        .filter_map(|(f, m)| match &m.source {
            ValueSource::Template(t) => Some((f, t.fields().collect())),
            _ => None,
        })
        .collect();
    let mut reported = BTreeSet::new();
    for &start in reads.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack = vec![(start, vec![start])];
        let mut visited = BTreeSet::new();
        while let Some((f, trail)) = stack.pop() {
            for &next in reads.get(&f).into_iter().flatten() {
                if next == start {
                    let mut cycle: Vec<FieldId> = trail.clone();
                    cycle.sort();
                    if reported.insert(cycle) {
                        let k = root().key("mapping").key(start.name()).key("template");
                        let names: Vec<&str> =
                            trail.iter().chain([&start]).map(|f| f.name()).collect();
                        out.push((
                            k.clone(),
                            format!(
                                "`{k}`: templates refer to each other: {}",
                                names.join(" → ")
                            ),
                        ));
                    }
                } else if visited.insert(next) {
                    let mut t = trail.clone();
                    t.push(next);
                    stack.push((next, t));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_for_slips_only() {
        let words = ["sources", "sinks", "mapping"];
        assert_eq!(did_you_mean("sourcs", words), Some("sources"));
        assert_eq!(did_you_mean("mappings", words), Some("mapping"));
        assert_eq!(
            did_you_mean("sources", words),
            None,
            "an exact match is no slip"
        );
        assert_eq!(did_you_mean("xyz", words), None);
        assert_eq!(edit_distance("宛名番号", "宛名番"), 1);
    }

    #[test]
    fn history_key_is_never_required() {
        for sync in [SyncMode::Full, SyncMode::Diff, SyncMode::Reset] {
            assert!(
                !required_fields(sync).contains(&FieldId::HistoryKey),
                "{sync:?}"
            );
            assert_eq!(required_fields(sync).len(), REQUIRED_FIELDS.len());
        }
    }
}
