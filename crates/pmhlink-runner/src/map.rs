//! One primary row, with its joined rows, into a PMH record: programme, joins, each field's
//! value cleaned and mapped, the certificate face. Every problem becomes a finding on the field
//! it concerns; the record is quarantined by the caller if any finding is an error.

use pmhlink_model::{DetailItem, FieldId, FieldKind, Pii, Record};
use pmhlink_rules::{Code, FieldRef, Finding};

use crate::clean::{self, CleanContext, Normalisations};
use crate::join::{JoinIndex, Lookup};
use crate::mapping::{
    ColumnRef, MappedValue, Mapping, OpenEnd, Program, ProgramAttr, TemplatePart, ValueSource,
};
use crate::table::Table;

/// The outcome of mapping a row. `record` is `None` when the row could not be turned into a
/// record at all (unreadable, unknown or ignored programme, a required join missing).
#[derive(Debug, Default)]
pub struct Mapped {
    pub record: Option<Record>,
    /// When a join failed, or the programme is ignored: the record as far as the rows fill it.
    /// Never sent or checked; it only ties the row to its certificate, so that what PMH holds
    /// for that certificate is not taken for deleted.
    pub partial: Option<Record>,
    pub findings: Vec<Finding>,
    /// The row's programme is one the pipeline ignores (`program.ignore`): not sent, not
    /// quarantined, no findings.
    pub ignored: bool,
}

struct Row<'a> {
    primary: &'a Table,
    row: usize,
    joins: &'a [JoinIndex],
    hits: &'a [Option<usize>],
}

impl Row<'_> {
    fn cell(&self, c: ColumnRef) -> &str {
        if c.source == 0 {
            return self.primary.cell(self.row, c.column);
        }
        match self.hits[c.source - 1] {
            Some(r) => self.joins[c.source - 1].table.cell(r, c.column),
            None => "",
        }
    }
}

/// Text fields a record may leave absent (an `Option` in the model), worked out once: the
/// answer is asked for every empty value of every row.
fn is_optional_text(field: FieldId) -> bool {
    static OPTIONAL: std::sync::OnceLock<Vec<bool>> = std::sync::OnceLock::new();
    let optional = OPTIONAL.get_or_init(|| {
        let blank = Record::default();
        FieldId::ALL
            .iter()
            .map(|&f| {
                f.kind() == FieldKind::Text && f != FieldId::HistoryKey && blank.text(f).is_none()
            })
            .collect()
    });
    optional[field.index()]
}

fn program_value(p: &Program, attr: ProgramAttr) -> &str {
    match attr {
        ProgramAttr::TypeId => &p.type_id,
        ProgramAttr::CertificationName => &p.certification_name,
        ProgramAttr::InsurerNumber => p.insurer_number.as_deref().unwrap_or(""),
    }
}

fn render(parts: &[TemplatePart], record: &Record) -> String {
    parts
        .iter()
        .map(|p| match p {
            TemplatePart::Text(t) => t.as_str(),
            TemplatePart::Field(f) => record.text(*f).unwrap_or(""),
        })
        .collect()
}

/// Whether a validity end means "no end": an empty cell (when the pipeline says so), or a
/// spelling of era year 99 / year 9999, December 31.
fn is_open_end(raw: &str, open_end: &OpenEnd, ctx: &CleanContext<'_>) -> bool {
    let value = clean::trim(raw);
    if value.is_empty() {
        open_end.empty
    } else {
        pmhlink_rules::era::is_open_end(value, ctx.era)
    }
}

/// A value through its source, cleaning steps, code map and default; `open_end` only for the
/// validity end.
#[allow(clippy::too_many_arguments)]
fn value_of(
    plan: &MappedValue,
    row: &Row<'_>,
    program: &Program,
    record: &Record,
    ctx: &CleanContext<'_>,
    open_end: Option<&OpenEnd>,
    counts: &mut Normalisations,
    warnings: &mut Vec<Code>,
) -> Result<String, Code> {
    let raw: std::borrow::Cow<'_, str> = match &plan.source {
        ValueSource::Column(c) => row.cell(*c).into(),
        ValueSource::Constant(s) => s.as_str().into(),
        ValueSource::Program(attr) => program_value(program, *attr).into(),
        ValueSource::Exists(j) => (if row.hits[*j].is_some() {
            "true"
        } else {
            "false"
        })
        .into(),
        ValueSource::Template(parts) => render(parts, record).into(),
    };
    if let Some(open_end) = open_end.filter(|o| is_open_end(&raw, o, ctx)) {
        if *raw != *open_end.sent_as {
            counts.add_open_end();
        }
        return Ok(open_end.sent_as.clone());
    }
    let cleaned = clean::apply(&raw, &plan.steps, ctx, counts)?;
    warnings.extend(cleaned.warning);
    let mut value = cleaned.value;
    if let Some(map) = &plan.map
        && !value.is_empty()
    {
        value = match (map.map.get(&value), &map.fallback) {
            (Some(v), _) | (None, Some(v)) => v.clone(),
            (None, None) => return Err(Code::CodeNotMapped),
        };
    }
    if value.is_empty()
        && let Some(d) = &plan.default
    {
        value = d.clone();
    }
    Ok(value)
}

fn parse_flag(value: &str) -> Option<bool> {
    match value {
        "1" | "true" => Some(true),
        "0" | "false" | "" => Some(false),
        _ => None,
    }
}

/// Finds each join's row, and whether every join succeeded well enough to build the record.
fn resolve_joins(
    plan: &Mapping,
    primary: &Table,
    row: usize,
    joins: &[JoinIndex],
    findings: &mut Vec<Finding>,
) -> (Vec<Option<usize>>, bool) {
    let mut hits: Vec<Option<usize>> = Vec::with_capacity(plan.joins.len());
    for (i, join) in plan.joins.iter().enumerate() {
        let key = Row {
            primary,
            row,
            joins,
            hits: &hits,
        }
        .cell(join.left)
        .to_owned();
        let index = &joins[i];
        // Blind rows (unreadable, key unreadable) of an optional join reach this far only when
        // it withholds; a required join quarantines a record that misses it anyway.
        let blind = !index.blind_lines.is_empty();
        let (hit, problem) = match index.lookup(&key) {
            Lookup::Found(r) => (Some(r), None),
            Lookup::Unreadable => (None, Some(Code::JoinRowUnreadable)),
            Lookup::Missing if join.required => (None, Some(Code::JoinMissing)),
            Lookup::Missing if blind => (None, Some(Code::JoinRowUnreadable)),
            Lookup::Missing => (None, None),
            Lookup::Ambiguous if join.columns_read || join.required => {
                (None, Some(Code::JoinAmbiguous))
            }
            // Only presence is read, and the key is present.
            Lookup::Ambiguous => (Some(usize::MAX), None),
        };
        if let Some(code) = problem {
            findings.push(Finding::on(code, FieldRef::Key(join.name.clone())));
        }
        hits.push(hit);
    }
    let complete = !findings.iter().any(|f| {
        matches!(
            f.code,
            Code::JoinMissing | Code::JoinAmbiguous | Code::JoinRowUnreadable
        )
    });
    (hits, complete)
}

pub fn map_row(
    plan: &Mapping,
    primary: &Table,
    row: usize,
    joins: &[JoinIndex],
    ctx: &CleanContext<'_>,
    counts: &mut Normalisations,
) -> Mapped {
    let mut findings = Vec::new();
    if primary.error(row).is_some() {
        findings.push(Finding::on(Code::SourceRowUnreadable, FieldRef::Record));
        return Mapped {
            findings,
            ..Mapped::default()
        };
    }
    let code = clean::trim(primary.cell(row, plan.program_column.column));
    if plan.ignored.contains(code) {
        return ignored(plan, primary, row, joins, ctx);
    }
    let Some(program) = plan.programs.get(code) else {
        findings.push(Finding::on(
            Code::UnknownProgram,
            FieldRef::Key("program".into()),
        ));
        return Mapped {
            findings,
            ..Mapped::default()
        };
    };
    let (hits, complete) = resolve_joins(plan, primary, row, joins, &mut findings);
    let view = Row {
        primary,
        row,
        joins,
        hits: &hits,
    };
    if !complete {
        let partial = build(
            plan,
            &view,
            program,
            ctx,
            &mut Normalisations::default(),
            &mut Vec::new(),
        );
        return Mapped {
            partial: Some(partial),
            findings,
            ..Mapped::default()
        };
    }
    let record = build(plan, &view, program, ctx, counts, &mut findings);
    Mapped {
        record: Some(record),
        partial: None,
        findings,
        ignored: false,
    }
}

/// A row of an ignored programme: no record and no finding, only the certificate as far as the
/// rows name it (its 公費受給者番号 and サブキー), so that what PMH may hold for it is kept.
fn ignored(
    plan: &Mapping,
    primary: &Table,
    row: usize,
    joins: &[JoinIndex],
    ctx: &CleanContext<'_>,
) -> Mapped {
    let (hits, _) = resolve_joins(plan, primary, row, joins, &mut Vec::new());
    let view = Row {
        primary,
        row,
        joins,
        hits: &hits,
    };
    let none = Program {
        code: String::new(),
        type_id: String::new(),
        certification_name: String::new(),
        insurer_number: None,
        manages_sex: true,
    };
    let partial = build(
        plan,
        &view,
        &none,
        ctx,
        &mut Normalisations::default(),
        &mut Vec::new(),
    );
    Mapped {
        partial: Some(partial),
        ignored: true,
        ..Mapped::default()
    }
}

/// Every field and face item of a record from a row and its joined rows.
fn build(
    plan: &Mapping,
    view: &Row<'_>,
    program: &Program,
    ctx: &CleanContext<'_>,
    counts: &mut Normalisations,
    findings: &mut Vec<Finding>,
) -> Record {
    let mut record = Record::default();
    let mut warnings = Vec::new();
    for fp in &plan.fields {
        let f = fp.field;
        let open_end = plan.open_end.as_ref().filter(|_| f == FieldId::ValidTo);
        let value = match value_of(
            &fp.value,
            view,
            program,
            &record,
            ctx,
            open_end,
            counts,
            &mut warnings,
        ) {
            Ok(v) => v,
            Err(code) => {
                findings.push(Finding::new(code, f));
                continue;
            }
        };
        findings.extend(warnings.drain(..).map(|w| Finding::new(w, f)));
        match f.kind() {
            FieldKind::Flag => match parse_flag(&value) {
                Some(b) => record.set_flag(f, b),
                None => findings.push(Finding::new(Code::CodeNotMapped, f)),
            },
            FieldKind::Text if value.is_empty() && is_optional_text(f) => {}
            FieldKind::Text => record.set_text(f, value),
            FieldKind::Items => {}
        }
    }
    if !program.manages_sex {
        record.set_text(FieldId::Sex, "0".into());
    }
    for dp in &plan.details {
        match value_of(
            &dp.value,
            view,
            program,
            &record,
            ctx,
            None,
            counts,
            &mut warnings,
        ) {
            Ok(v) if v.is_empty() && dp.skip_empty => {}
            Ok(v) => record.face.details.push(DetailItem {
                name: dp.name.clone(),
                value: Pii::new(v),
            }),
            Err(code) => findings.push(Finding::new(code, FieldId::CertificationDetail)),
        }
        findings.extend(
            warnings
                .drain(..)
                .map(|w| Finding::new(w, FieldId::CertificationDetail)),
        );
    }
    if plan.history && record.flag(FieldId::IsDeleted).is_none() {
        record.set_flag(FieldId::IsDeleted, false);
    }
    record.normalise_empty_parts();
    record
}
