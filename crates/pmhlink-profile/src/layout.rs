//! A registration API's record layout, compiled once from the profile: which fields its records
//! carry, the JSON object tree and the flattened CSV columns.

use crate::api::{ApiId, ApiSpec, Format, Role, SyncMode};
use crate::spec::{CsvSpec, FieldSpec, Limits, Profile, ResultSpec};

/// A JSON object member: either a field's value or a nested object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// Index into [`Layout::fields`].
    Field(usize),
    Object(Vec<(String, Node)>),
}

/// What a CSV column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Value,
    /// The name of face item `n` (0-based).
    ItemName(usize),
    ItemValue(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    /// Index into [`Layout::fields`].
    pub field: usize,
    pub part: Part,
}

#[derive(Clone, Debug)]
pub struct Layout {
    pub api: ApiId,
    pub spec: ApiSpec,
    pub profile_name: String,
    pub profile_version: String,
    pub fields: Vec<FieldSpec>,
    pub tree: Vec<(String, Node)>,
    pub columns: Vec<Column>,
    pub limits: Limits,
    pub csv: CsvSpec,
    pub result: ResultSpec,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("profile {profile} does not define API {api}")]
    NoSuchApi { profile: String, api: ApiId },
    #[error(
        "API {api} is a result API; records are registered through E01, E02, E05, E06, E11 or E12"
    )]
    NotRegistration { api: ApiId },
}

fn insert(tree: &mut Vec<(String, Node)>, path: &[&str], field: usize) {
    let (head, rest) = path
        .split_first()
        .expect("validated: key paths are non-empty");
    if rest.is_empty() {
        tree.push(((*head).to_owned(), Node::Field(field)));
        return;
    }
    let pos = tree
        .iter()
        .position(|(k, n)| k == head && matches!(n, Node::Object(_)));
    let pos = pos.unwrap_or_else(|| {
        tree.push(((*head).to_owned(), Node::Object(Vec::new())));
        tree.len() - 1
    });
    if let Node::Object(children) = &mut tree[pos].1 {
        insert(children, rest, field);
    }
}

impl Layout {
    pub fn new(profile: &Profile, api: ApiId) -> Result<Layout, LayoutError> {
        let spec = profile
            .api(api)
            .ok_or_else(|| LayoutError::NoSuchApi {
                profile: profile.name.clone(),
                api,
            })?
            .clone();
        if spec.role != Role::Register {
            return Err(LayoutError::NotRegistration { api });
        }
        let fields: Vec<FieldSpec> = profile
            .fields
            .iter()
            .filter(|f| f.applies_to(spec.sync))
            .cloned()
            .collect();
        let mut tree = Vec::new();
        let mut columns = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            insert(&mut tree, &f.key.split('.').collect::<Vec<_>>(), i);
            match &f.items {
                None => columns.push(Column {
                    header: f.key.clone(),
                    field: i,
                    part: Part::Value,
                }),
                Some(items) => {
                    for n in 0..profile.csv.detail_columns {
                        let at = |k: &str| format!("{}.{}.{k}", f.key, n + 1);
                        columns.push(Column {
                            header: at(&items.name_key),
                            field: i,
                            part: Part::ItemName(n),
                        });
                        columns.push(Column {
                            header: at(&items.value_key),
                            field: i,
                            part: Part::ItemValue(n),
                        });
                    }
                }
            }
        }
        Ok(Layout {
            api,
            spec,
            profile_name: profile.name.clone(),
            profile_version: profile.version.clone(),
            fields,
            tree,
            columns,
            limits: profile.limits.clone(),
            csv: profile.csv.clone(),
            result: profile.result.clone(),
        })
    }

    pub fn sync(&self) -> SyncMode {
        self.spec.sync
    }

    pub fn format(&self) -> Format {
        self.spec.format
    }

    /// The name of the payload file for batch `seq` (0-based): `E06-0000.json`.
    pub fn payload_file_name(&self, seq: usize) -> String {
        format!("{}-{seq:04}.{}", self.api, self.format().extension())
    }

    /// The wire name of a field for reports: its key path.
    pub fn key_of(&self, id: pmhlink_model::FieldId) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.key.as_str())
    }

    pub fn field_index(&self, id: pmhlink_model::FieldId) -> Option<usize> {
        self.fields.iter().position(|f| f.id == id)
    }
}
