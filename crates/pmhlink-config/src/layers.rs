//! Layered pipeline files: a municipality's file may `extends` a template (a vendor's mapping,
//! a prefecture's programmes), which may extend another. The files are read child first,
//! then merged from the farthest ancestor down, before the result is read as a [`Pipeline`]:
//! what serde, the environment overrides, the secrets and the checks see is one document.
//!
//! How two values of one key combine is written once, in [`MERGE_RULES`]; the reference page
//! renders that table. Every node of the merged document remembers the file that wrote it, so
//! a problem found later names the template, the municipality's file or a middle layer.
//!
//! [`Pipeline`]: crate::Pipeline

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use figment::Provider as _;
use figment::providers::{Format as _, Toml, Yaml};
use figment::value::{Dict, Tag, Value};

use crate::error::{KeyPath, Problem, Segment};
use crate::load::FileFormat;

/// The key that names a file's parent.
pub const EXTENDS: &str = "extends";
/// The key that drops an inherited item.
pub const REMOVE: &str = "remove";
/// How many files one chain may hold, the municipality's own included. Integrators layer a
/// vendor template, perhaps a prefecture's, and the municipality: far fewer.
pub const MAX_LAYERS: usize = 8;

/// How a file's value at a key combines with the value it inherits there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Tables merge key by key, each key by its own rule.
    Merge,
    /// The child's value replaces the inherited one whole.
    Replace,
    /// An array of tables: a child's item with the same key values merges into the inherited
    /// item (in its place); other items are appended in the child's order.
    ByKey(&'static [&'static str]),
    /// Like [`How::Merge`], unless the child gives this key a different value than the
    /// inherited table: then the child's table replaces it whole.
    MergeUnlessChanged(&'static str),
}

/// One row of the merge rules.
#[derive(Clone, Copy, Debug)]
pub struct MergeRule {
    /// The key path the rule is for: `<name>` stands for any key of a table of named entries,
    /// `[]` for any item of an array.
    pub at: &'static str,
    pub how: How,
    /// Whether a child can drop an inherited entry there with `remove = true`.
    pub removable: bool,
    /// Why, for the reference page.
    pub why: &'static str,
}

/// The merge rules, most specific first: the first row whose key path matches applies. Keys
/// no row names follow [`DEFAULT_TABLE`] and [`DEFAULT_OTHER`].
pub const MERGE_RULES: &[MergeRule] = &[
    MergeRule {
        at: "programs",
        how: How::ByKey(&["code"]),
        removable: true,
        why: "A programme is known by its vendor code: a municipality changes the attributes \
              of an inherited one (its `type_id`, `insurer_number`), adds its own, or drops one \
              it does not run.",
    },
    MergeRule {
        at: "program.ignore",
        how: How::Replace,
        removable: false,
        why: "The codes a municipality does not send are its own list.",
    },
    MergeRule {
        at: "sources.<name>",
        how: How::MergeUnlessChanged("plugin"),
        removable: true,
        why: "A source is known by its name: a municipality sets its own `config.path` or \
              credentials and keeps the template's encoding and layout. A source read by another \
              plugin (a database instead of the template's CSV) is a different source: give it \
              whole, `primary` included.",
    },
    MergeRule {
        at: "sources.<name>.config",
        how: How::Merge,
        removable: false,
        why: "The plugin's settings merge key by key; an array in them (a fixed-width layout's \
              `fields`) is replaced whole: only the plugin knows what its items mean.",
    },
    MergeRule {
        at: "joins",
        how: How::ByKey(&["source"]),
        removable: true,
        why: "Each source is joined once, so the joined source names the join.",
    },
    MergeRule {
        at: "mapping.certification_detail",
        how: How::ByKey(&["name"]),
        removable: true,
        why: "A certificate-face item is known by its printed name; an item the child adds is \
              printed after the inherited ones.",
    },
    MergeRule {
        at: "mapping.certification_detail[].value",
        how: How::Replace,
        removable: false,
        why: "A value is one mapping (one value key and its steps): half of one and half of \
              another is neither.",
    },
    MergeRule {
        at: "mapping.<name>",
        how: How::Replace,
        removable: true,
        why: "A field's mapping is one unit: a child that maps the field from a constant must \
              not inherit the template's `column` and `clean` steps.",
    },
    MergeRule {
        at: "sinks",
        how: How::Replace,
        removable: false,
        why: "A sink has no name of its own (two of one plugin may be listed): a file that lists \
              sinks lists all of them.",
    },
    MergeRule {
        at: "rules.local_programs",
        how: How::Replace,
        removable: false,
        why: "A site's local programmes are one list (the same 法別番号 may be listed for several \
              agencies): a file that gives the list gives all of it.",
    },
    MergeRule {
        at: "rules.era",
        how: How::Replace,
        removable: false,
        why: "An era table says how one export writes era codes: it is given whole.",
    },
    MergeRule {
        at: "rules.gaiji",
        how: How::Merge,
        removable: false,
        why: "A municipality adds its own 外字 to the vendor's.",
    },
    MergeRule {
        at: "plugins.dirs",
        how: How::Replace,
        removable: false,
        why: "A list of folders is replaced whole.",
    },
];

/// What a table no rule names does.
pub const DEFAULT_TABLE: &str = "merged key by key, recursively";
/// What any other value no rule names does (a scalar, an array: `clean`, `program.ignore`).
pub const DEFAULT_OTHER: &str = "replaced by the child's value";

/// One step of a rule's key path.
enum Step<'a> {
    Key(&'a str),
    AnyKey,
    AnyIndex,
}

fn steps(pattern: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in pattern.split('.') {
        let (key, items) = match part.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (part, false),
        };
        out.push(if key == "<name>" {
            Step::AnyKey
        } else {
            Step::Key(key)
        });
        if items {
            out.push(Step::AnyIndex);
        }
    }
    out
}

fn matches(pattern: &str, path: &KeyPath) -> bool {
    let steps = steps(pattern);
    steps.len() == path.segments().len()
        && steps
            .iter()
            .zip(path.segments())
            .all(|(s, seg)| match (s, seg) {
                (Step::Key(k), Segment::Key(key)) => k == key,
                (Step::AnyKey, Segment::Key(_)) | (Step::AnyIndex, Segment::Index(_)) => true,
                _ => false,
            })
}

/// The rule for `path`, if a row names it.
pub(crate) fn rule(path: &KeyPath) -> Option<&'static MergeRule> {
    MERGE_RULES.iter().find(|r| matches(r.at, path))
}

/// Whether the value at `path` is one unit (replaced whole): `pmhlink config` prints it on one
/// line.
pub(crate) fn is_whole(path: &KeyPath) -> bool {
    rule(path).is_some_and(|r| r.how == How::Replace)
}

/// One file of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LayerFile {
    /// How problems name it: the path as given for the municipality's file, a parent's
    /// `extends` joined to its child's folder.
    pub name: String,
    /// The path relative to the municipality file's folder (`../vendors/acme/pipeline.toml`),
    /// as `pmhlink config` shows it.
    pub shown: String,
}

/// A node of the merged document, with the index (in the chain, the municipality's file
/// first) of the file that wrote it. A table's file is the one that first wrote it.
#[derive(Clone, Debug)]
struct Node {
    file: usize,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Table(BTreeMap<String, Node>),
    Array(Vec<Node>),
    Leaf(Value),
}

impl Node {
    fn from_value(v: Value, file: usize) -> Node {
        let kind = match v {
            Value::Dict(_, d) => Kind::Table(
                d.into_iter()
                    .map(|(k, v)| (k, Node::from_value(v, file)))
                    .collect(),
            ),
            Value::Array(_, items) => Kind::Array(
                items
                    .into_iter()
                    .map(|v| Node::from_value(v, file))
                    .collect(),
            ),
            leaf => Kind::Leaf(leaf),
        };
        Node { file, kind }
    }

    fn into_value(self) -> Value {
        match self.kind {
            Kind::Table(t) => Value::Dict(
                Tag::Default,
                t.into_iter().map(|(k, n)| (k, n.into_value())).collect(),
            ),
            Kind::Array(items) => Value::Array(
                Tag::Default,
                items.into_iter().map(Node::into_value).collect(),
            ),
            Kind::Leaf(v) => v,
        }
    }

    fn table(&self) -> Option<&BTreeMap<String, Node>> {
        match &self.kind {
            Kind::Table(t) => Some(t),
            _ => None,
        }
    }

    fn string(&self) -> Option<&str> {
        match &self.kind {
            Kind::Leaf(Value::String(_, s)) => Some(s),
            _ => None,
        }
    }

    /// Every node's file by key path.
    fn record(&self, at: KeyPath, out: &mut BTreeMap<KeyPath, usize>) {
        match &self.kind {
            Kind::Table(t) => {
                for (k, n) in t {
                    n.record(at.key(k.clone()), out);
                }
            }
            Kind::Array(items) => {
                for (i, n) in items.iter().enumerate() {
                    n.record(at.index(i), out);
                }
            }
            Kind::Leaf(_) => {}
        }
        out.insert(at, self.file);
    }

    /// Leaves only, for [`Flattened`].
    fn leaves(&self, at: KeyPath, out: &mut Vec<(KeyPath, usize)>) {
        match &self.kind {
            Kind::Table(t) if !t.is_empty() => {
                for (k, n) in t {
                    n.leaves(at.key(k.clone()), out);
                }
            }
            Kind::Array(items) if !items.is_empty() => {
                for (i, n) in items.iter().enumerate() {
                    n.leaves(at.index(i), out);
                }
            }
            _ => out.push((at, self.file)),
        }
    }
}

/// The files of a chain and their merged document.
#[derive(Debug)]
pub(crate) struct Merged {
    /// The chain, the municipality's file first.
    pub files: Vec<LayerFile>,
    /// The merged document, as figment reads it.
    pub document: Dict,
    /// The file (an index into `files`) that wrote each node of the document.
    pub written: BTreeMap<KeyPath, usize>,
    root: Node,
}

/// One file as read, before merging.
struct Read {
    file: LayerFile,
    dict: Dict,
}

/// Reads the chain starting at the municipality's file (whose `text` is given) and merges it.
/// Problems name the file they are in: a parent that cannot be read, a cycle or too deep a
/// chain are problems of the file that says `extends`.
pub(crate) fn read_and_merge(
    text: &str,
    format: FileFormat,
    origin: &Path,
) -> Result<Merged, Vec<Problem>> {
    let files = read_chain(text, format, origin)?;
    merge(files)
}

fn problem(file: &LayerFile, path: KeyPath, message: String) -> Problem {
    Problem {
        origin: file.name.clone(),
        path,
        message,
    }
}

fn parse(text: &str, format: FileFormat, file: &LayerFile) -> Result<Dict, Vec<Problem>> {
    if format == FileFormat::Yaml
        && let Some(message) = yaml_duplicate_key(text)
    {
        return Err(vec![problem(file, KeyPath::root(), message)]);
    }
    let data = match format {
        FileFormat::Toml => Toml::string(text).data(),
        FileFormat::Yaml => Yaml::string(text).data(),
    };
    match data {
        Ok(mut profiles) => Ok(profiles
            .remove(&figment::Profile::Default)
            .unwrap_or_default()),
        Err(e) => Err(e
            .into_iter()
            .map(|e| {
                let message = match e.kind {
                    figment::error::Kind::Message(m) => m,
                    other => other.to_string(),
                };
                problem(file, KeyPath::root(), message)
            })
            .collect()),
    }
}

/// A key given twice in one YAML mapping. Figment keeps the last silently, where TOML refuses
/// the file; a pipeline file means one thing in either format, so YAML refuses it too.
fn yaml_duplicate_key(text: &str) -> Option<String> {
    let e = serde_yaml::from_str::<serde_yaml::Value>(text).err()?;
    let message = e.to_string();
    message
        .contains("duplicate entry")
        .then(|| format!("{message}: each key may be given once"))
}

/// `base` joined with `rel`, `.` dropped and `..` taken lexically (`a/b/../c` = `a/c`), as a
/// shell's `cd` does: the file named in a problem is the file that was opened.
fn join_lexically(base: &Path, rel: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

fn folder(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

fn read_chain(text: &str, format: FileFormat, origin: &Path) -> Result<Vec<Read>, Vec<Problem>> {
    let shown_root = origin
        .file_name()
        .map_or_else(|| origin.to_owned(), PathBuf::from);
    let mut at = LayerFile {
        name: origin.display().to_string(),
        shown: shown_root.display().to_string(),
    };
    // Where the current file is: as opened, and relative to the municipality's folder.
    let mut opened = origin.to_owned();
    let mut shown = shown_root;
    let mut seen = vec![identity(origin)];
    let mut text = text.to_owned();
    let mut format = format;
    let mut chain = Vec::new();
    loop {
        let mut dict = parse(&text, format, &at)?;
        let extends = dict.remove(EXTENDS);
        let here = at.clone();
        chain.push(Read {
            file: at.clone(),
            dict,
        });
        let Some(extends) = extends else {
            return Ok(chain);
        };
        let key = KeyPath::root().key(EXTENDS);
        let fail = |message: String| vec![problem(&here, key.clone(), message)];
        let rel = match &extends {
            Value::String(_, s) if !s.trim().is_empty() => PathBuf::from(s),
            Value::String(..) => return Err(fail("`extends`: is empty".into())),
            _ => {
                return Err(fail(
                    "`extends`: expected the path of the file this one extends, as a string".into(),
                ));
            }
        };
        let Some(parent_format) = FileFormat::from_path(&rel) else {
            return Err(fail(format!(
                "`extends`: `{}` is not a pipeline file: it must end in .toml, .yaml or .yml",
                rel.display()
            )));
        };
        let parent = join_lexically(folder(&opened), &rel);
        let parent_shown = join_lexically(folder(&shown), &rel);
        let names: Vec<&str> = chain.iter().map(|r| r.file.shown.as_str()).collect();
        if chain.len() >= MAX_LAYERS {
            return Err(fail(format!(
                "`extends`: a chain of more than {MAX_LAYERS} files ({} → …): layer a template, \
                 perhaps a regional one, and the municipality's file",
                names.join(" → ")
            )));
        }
        let parent_text = std::fs::read_to_string(&parent).map_err(|e| {
            fail(format!(
                "`extends`: cannot read `{}` ({}): {e}",
                rel.display(),
                parent.display()
            ))
        })?;
        let id = identity(&parent);
        if seen.contains(&id) {
            return Err(fail(format!(
                "`extends`: `{}` is already in the chain ({} → {}): a file cannot extend \
                 itself, directly or through others",
                rel.display(),
                names.join(" → "),
                parent_shown.display()
            )));
        }
        seen.push(id);
        at = LayerFile {
            name: parent.display().to_string(),
            shown: parent_shown.display().to_string(),
        };
        opened = parent;
        shown = parent_shown;
        text = parent_text;
        format = parent_format;
    }
}

/// What tells two paths to one file apart from two files: the canonical path where there is
/// one (the municipality's text may not come from a file).
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

fn merge(chain: Vec<Read>) -> Result<Merged, Vec<Problem>> {
    let files: Vec<LayerFile> = chain.iter().map(|r| r.file.clone()).collect();
    let mut problems = Vec::new();
    let mut root = Node {
        file: chain.len() - 1,
        kind: Kind::Table(BTreeMap::new()),
    };
    for (i, read) in chain.into_iter().enumerate().rev() {
        let mut merger = Merger {
            file: i,
            layer: &files[i],
            problems: &mut problems,
        };
        let over = Node::from_value(Value::Dict(Tag::Default, read.dict), i);
        root = merger.merge(Some(root), over, &KeyPath::root());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // The file as a whole is the municipality's: a key missing at the top is missing there.
    root.file = 0;
    let mut written = BTreeMap::new();
    root.record(KeyPath::root(), &mut written);
    let document = match root.clone().into_value() {
        Value::Dict(_, d) => d,
        _ => unreachable!("the root is a table"),
    };
    Ok(Merged {
        files,
        document,
        written,
        root,
    })
}

struct Merger<'a> {
    /// The index of the file being merged in.
    file: usize,
    layer: &'a LayerFile,
    problems: &'a mut Vec<Problem>,
}

/// `code = "010"`, `source = "shien"`: an item's key, for messages.
fn describe_key(keys: &[&str], values: &[String]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| format!("`{k} = {v:?}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Merger<'_> {
    fn problem(&mut self, path: KeyPath, message: String) {
        self.problems.push(problem(self.layer, path, message));
    }

    /// `over` (written by this file at `at`) over what is inherited there.
    fn merge(&mut self, base: Option<Node>, over: Node, at: &KeyPath) -> Node {
        let how = rule(at).map_or(How::Merge, |r| r.how);
        match (how, over.kind) {
            (How::ByKey(keys), Kind::Array(items)) => {
                let base = base.and_then(|b| match b.kind {
                    Kind::Array(items) => Some((b.file, items)),
                    _ => None,
                });
                self.by_key(base, items, keys, at)
            }
            (How::Merge | How::MergeUnlessChanged(_), Kind::Table(table)) => {
                let mut base = base.and_then(|b| match b.kind {
                    Kind::Table(t) => Some((b.file, t)),
                    _ => None,
                });
                if let (How::MergeUnlessChanged(key), Some((_, inherited))) = (how, &base)
                    && let (Some(mine), Some(theirs)) = (table.get(key), inherited.get(key))
                    && mine.clone().into_value() != theirs.clone().into_value()
                {
                    base = None;
                }
                self.tables(base, table, at)
            }
            (_, kind) => Node {
                file: over.file,
                kind,
            },
        }
    }

    fn tables(
        &mut self,
        base: Option<(usize, BTreeMap<String, Node>)>,
        over: BTreeMap<String, Node>,
        at: &KeyPath,
    ) -> Node {
        let (file, mut table) = base.unwrap_or((self.file, BTreeMap::new()));
        for (k, v) in over {
            let child = at.key(k.clone());
            // A named entry (`sources.<name>`) can be removed; a keyed array's items are, by
            // `by_key`, not the array.
            let entry =
                rule(&child).is_some_and(|r| r.removable && !matches!(r.how, How::ByKey(_)));
            if entry && v.table().is_some_and(|t| t.contains_key(REMOVE)) {
                if self.removal(&v, &child, &[]).is_some() && table.remove(&k).is_none() {
                    self.problem(
                        child.clone(),
                        format!("`{child}`: nothing inherited to remove"),
                    );
                }
                continue;
            }
            let inherited = table.remove(&k);
            let merged = self.merge(inherited, v, &child);
            table.insert(k, merged);
        }
        Node {
            file,
            kind: Kind::Table(table),
        }
    }

    /// Checks a `remove = true` item: it says `remove = true` and its key, nothing else.
    /// Returns the key values, or `None` (with a problem) when it is not a well-formed one.
    fn removal(&mut self, item: &Node, at: &KeyPath, keys: &[&str]) -> Option<Vec<String>> {
        let table = item.table()?;
        let flag = at.key(REMOVE);
        if !matches!(
            table.get(REMOVE).map(|n| &n.kind),
            Some(Kind::Leaf(Value::Bool(_, true)))
        ) {
            self.problem(
                flag.clone(),
                format!("`{flag}`: can only be `true` (it drops the inherited item)"),
            );
            return None;
        }
        let mut values = Vec::new();
        for key in keys {
            match table.get(*key).and_then(Node::string) {
                Some(v) => values.push(v.to_owned()),
                None => {
                    self.problem(
                        at.clone(),
                        format!(
                            "`{at}`: an item with `remove = true` names the inherited item by {}",
                            crate::error::list(keys.iter().copied())
                        ),
                    );
                    return None;
                }
            }
        }
        let extra: Vec<&str> = table
            .keys()
            .map(String::as_str)
            .filter(|k| *k != REMOVE && !keys.contains(k))
            .collect();
        if !extra.is_empty() {
            let says = if keys.is_empty() {
                "nothing else".to_owned()
            } else {
                format!("only {}", crate::error::list(keys.iter().copied()))
            };
            self.problem(
                at.clone(),
                format!(
                    "`{at}`: an item with `remove = true` says {says}, not {}",
                    crate::error::list(extra)
                ),
            );
            return None;
        }
        Some(values)
    }

    fn by_key(
        &mut self,
        base: Option<(usize, Vec<Node>)>,
        over: Vec<Node>,
        keys: &[&str],
        at: &KeyPath,
    ) -> Node {
        let key_of = |n: &Node| -> Option<Vec<String>> {
            let t = n.table()?;
            keys.iter()
                .map(|k| t.get(*k).and_then(Node::string).map(str::to_owned))
                .collect()
        };
        let removable = rule(at).is_some_and(|r| r.removable);
        let (file, inherited) = base.unwrap_or((self.file, Vec::new()));
        let inherited_keys: Vec<Option<Vec<String>>> = inherited.iter().map(key_of).collect();
        let mut slots: Vec<Option<Node>> = inherited.into_iter().map(Some).collect();
        let mut merged_into = vec![false; slots.len()];
        let mut appended = Vec::new();
        for (j, item) in over.into_iter().enumerate() {
            let here = at.index(j);
            let find = |merged_into: &[bool], slots: &[Option<Node>], key: &Vec<String>| {
                (0..slots.len()).find(|&i| {
                    slots[i].is_some() && !merged_into[i] && inherited_keys[i].as_ref() == Some(key)
                })
            };
            if removable && item.table().is_some_and(|t| t.contains_key(REMOVE)) {
                if let Some(key) = self.removal(&item, &here, keys) {
                    match find(&merged_into, &slots, &key) {
                        Some(i) => slots[i] = None,
                        None => self.problem(
                            here.clone(),
                            format!(
                                "`{here}`: no inherited item of `{at}` has {}: nothing to remove",
                                describe_key(keys, &key)
                            ),
                        ),
                    }
                }
                continue;
            }
            match key_of(&item).and_then(|key| find(&merged_into, &slots, &key)) {
                Some(i) => {
                    let inherited = slots[i].take();
                    slots[i] = Some(self.merge_item(inherited, item, &here));
                    merged_into[i] = true;
                }
                None => {
                    let new = self.merge_item(None, item, &here);
                    appended.push(new);
                }
            }
        }
        let items = slots.into_iter().flatten().chain(appended).collect();
        Node {
            file,
            kind: Kind::Array(items),
        }
    }

    /// An item of a keyed array: its keys merge by their own rules (a table merges).
    fn merge_item(&mut self, base: Option<Node>, item: Node, at: &KeyPath) -> Node {
        match item.kind {
            Kind::Table(t) => {
                let base = base.and_then(|b| match b.kind {
                    Kind::Table(bt) => Some((b.file, bt)),
                    _ => None,
                });
                self.tables(base, t, at)
            }
            kind => Node {
                file: item.file,
                kind,
            },
        }
    }
}

/// A chain's merged document with the file of every value: what [`flatten`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Flattened {
    /// The chain, the municipality's file first, each named relative to its folder.
    pub files: Vec<String>,
    /// The merged document, before it is read as a pipeline (no defaults, no environment).
    pub document: serde_json::Value,
    /// Each value of the document (a scalar, or an empty table or array) with the file that
    /// wrote it, relative to the municipality file's folder, in key path order.
    pub origins: Vec<(KeyPath, String)>,
}

/// Reads a layered pipeline file and merges its chain without reading the result as a
/// pipeline: what `extends` and the merge rules made of the files. For tests and tools;
/// [`crate::Pipeline::load`] does this and then everything else.
pub fn flatten(path: impl AsRef<Path>) -> Result<Flattened, crate::ConfigError> {
    let path = path.as_ref();
    let format = FileFormat::from_path(path).ok_or_else(|| crate::ConfigError::Extension {
        path: path.to_owned(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| crate::ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let merged = read_and_merge(&text, format, path).map_err(crate::ConfigError::Invalid)?;
    let mut leaves = Vec::new();
    merged.root.leaves(KeyPath::root(), &mut leaves);
    Ok(Flattened {
        origins: leaves
            .into_iter()
            .map(|(p, i)| (p, merged.files[i].shown.clone()))
            .collect(),
        document: serde_json::to_value(Value::Dict(Tag::Default, merged.document))
            .expect("a figment value serializes"),
        files: merged.files.into_iter().map(|f| f.shown).collect(),
    })
}

/// Whether the file at `path` is a template rather than a municipality's pipeline: it sets no
/// `municipality.code` of its own (a 団体コード is what only a municipality's file says). A file
/// that cannot be read or parsed is not called a template, so that whoever runs it meets its
/// error. `pmhlink fleet` uses this to leave templates kept beside the municipalities alone.
pub fn is_template(path: impl AsRef<Path>) -> bool {
    let path = path.as_ref();
    let (Some(format), Ok(text)) = (FileFormat::from_path(path), std::fs::read_to_string(path))
    else {
        return false;
    };
    let data = match format {
        FileFormat::Toml => Toml::string(&text).data(),
        FileFormat::Yaml => Yaml::string(&text).data(),
    };
    let Ok(mut profiles) = data else {
        return false;
    };
    let dict = profiles
        .remove(&figment::Profile::Default)
        .unwrap_or_default();
    !matches!(
        dict.get("municipality"),
        Some(Value::Dict(_, m)) if m.contains_key("code")
    )
}

/// The reference page's section on layered files, the rules table rendered from
/// [`MERGE_RULES`].
pub(crate) fn reference_section() -> String {
    let paragraphs = [
        "Integrators serve many municipalities on one vendor system: the mapping from the \
         vendor's exports is the same everywhere, while the 団体コード, programmes, local \
         tables, paths and credentials differ. A municipality's file may start from a \
         template with a top-level `extends = \"../vendors/acme/pipeline.toml\"`: the path is \
         relative to the file that says it (`..` taken lexically), and the template may \
         extend another."
            .to_owned(),
        format!(
            "A chain holds at most {MAX_LAYERS} files; a file met twice is refused as a cycle. \
             TOML and YAML files may extend each other. A template need not be a whole \
             pipeline: only the merged result is checked. A missing parent, a parent that is \
             not a `.toml`, `.yaml` or `.yml` file, a cycle and too long a chain are errors \
             of the file that says `extends`."
        ),
        "The files are merged before anything else, the farthest template first and the \
         municipality's file last, each over what it inherits; then `PMHLINK_…__…` \
         environment overrides apply to the merged result, then `${VAR}` secrets, then the \
         checks. `pmhlink config FILE` prints the merged result with the file each value came \
         from, and every error names the file the offending value was written in (the \
         template, a middle layer, the municipality's file, or an environment variable)."
            .to_owned(),
        "**Relative paths** are all taken from the municipality file's folder, also those a \
         template gives: plugins read their settings (`sources.<name>.config.path`, a \
         fixed-width `layout`) as given, and pmhlink cannot tell which of them are paths, so \
         one base for every key is the only rule that holds for all of them. A template names \
         vendor-wide files (a profile, a layout) relative to where the municipalities' files \
         are (`../../vendors/acme/layout.toml` when every municipality has a folder of its \
         own beside `vendors`), or absolutely; the municipality's file names its data folder, \
         ledger and reports."
            .to_owned(),
        "**How a child's value combines with the inherited one**, key by key: the first row \
         that matches applies (`<name>` is any name, `[]` any item). Where an entry can be \
         removed, the child writes it with `remove = true` and nothing else (an array item: \
         `remove = true` and its key); removing an entry that is not inherited is an error, \
         and `remove` is never a key of the merged file. An array merged by key keeps what it \
         inherits (`programs = []` in a child changes nothing); an array replaced whole is \
         replaced by an empty one too (`sinks = []` leaves no sink)."
            .to_owned(),
    ];
    let mut out = String::from("## Layered files: `extends`\n\n");
    for p in &paragraphs {
        out.push_str(&wrap(p));
        out.push_str("\n\n");
    }
    out.push_str("| key | rule | remove | why |\n|---|---|---|---|\n");
    for r in MERGE_RULES {
        let how = match r.how {
            How::Merge => "tables merged key by key".to_owned(),
            How::Replace => "replaced whole".to_owned(),
            How::ByKey(keys) => format!(
                "items merged by {}: an item with the same {} merges into the inherited one, \
                 in its place; new items are appended in the child's order",
                crate::error::list(keys.iter().copied()),
                if keys.len() == 1 { "key" } else { "keys" }
            ),
            How::MergeUnlessChanged(key) => format!(
                "merged key by key, unless the child gives `{key}` another value: then \
                 replaced whole"
            ),
        };
        let remove = if r.removable {
            match r.how {
                How::ByKey(keys) => format!(
                    "`remove = true` with {}",
                    crate::error::list(keys.iter().copied())
                ),
                _ => format!("`{} = {{ remove = true }}`", r.at),
            }
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            out,
            "| `{}` | {how} | {remove} | {} |",
            r.at,
            r.why.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    let _ = writeln!(
        out,
        "| any other table | {DEFAULT_TABLE} | — | A child says only what differs. |\n\
         | any other value | {DEFAULT_OTHER} | — | Scalars, and arrays of plain values \
         (`clean`, an array in a plugin's settings): an array is one value. |\n"
    );
    out.push_str(&wrap(
        "Not supported: placing a certificate-face item between inherited ones (an item the \
         child adds is printed after them: give the template's items in the order wanted), \
         and removing one key of a table (a 外字 of `rules.gaiji`, a setting of a plugin's \
         `config`): give the key a value instead, or leave it out of the template.",
    ));
    out.push('\n');
    out
}

/// A paragraph cut into lines of at most 95 columns, as the page's hand-written text is; a
/// `code span` is never cut.
fn wrap(text: &str) -> String {
    let mut atoms: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match atoms.last_mut() {
            Some(open) if open.matches('`').count() % 2 == 1 => {
                open.push(' ');
                open.push_str(word);
            }
            _ => atoms.push(word.to_owned()),
        }
    }
    let mut out = String::new();
    let mut line = 0;
    for atom in atoms {
        let width = atom.chars().count();
        if line > 0 && line + 1 + width > 95 {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(&atom);
        line += width;
    }
    out
}

/// The schema's description of `extends`.
pub(crate) fn schema_description() -> String {
    let mut rules: Vec<String> = MERGE_RULES
        .iter()
        .map(|r| {
            let how = match r.how {
                How::Merge => "merged key by key".to_owned(),
                How::Replace => "replaced whole".to_owned(),
                How::ByKey(keys) => format!("items merged by {}", keys.join(" + ")),
                How::MergeUnlessChanged(key) => {
                    format!("merged key by key unless `{key}` changes")
                }
            };
            let remove = if r.removable {
                ", `remove = true` drops one"
            } else {
                ""
            };
            format!("`{}` {how}{remove}", r.at)
        })
        .collect();
    rules.push(format!("other tables {DEFAULT_TABLE}"));
    rules.push(format!("other values {DEFAULT_OTHER}"));
    format!(
        "The pipeline file this one extends (a template), relative to this file; a chain of \
         at most {MAX_LAYERS} files. The template is merged first, this file over it: {}. \
         Relative paths in every file are taken from the folder of the file that is run. This \
         schema describes the merged result: a file that extends another need not hold the \
         keys it requires.",
        rules.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_their_paths_most_specific_first() {
        let p = |s: &[&str]| {
            s.iter()
                .fold(KeyPath::root(), |p, k| match k.parse::<usize>() {
                    Ok(i) => p.index(i),
                    Err(_) => p.key(*k),
                })
        };
        let how = |s: &[&str]| rule(&p(s)).map(|r| r.how);
        assert_eq!(how(&["programs"]), Some(How::ByKey(&["code"])));
        assert_eq!(
            how(&["mapping", "certification_detail"]),
            Some(How::ByKey(&["name"]))
        );
        assert_eq!(
            how(&["mapping", "certification_detail", "2", "value"]),
            Some(How::Replace)
        );
        assert_eq!(how(&["mapping", "sex"]), Some(How::Replace));
        assert_eq!(
            how(&["sources", "db"]),
            Some(How::MergeUnlessChanged("plugin"))
        );
        assert_eq!(how(&["sources", "db", "config"]), Some(How::Merge));
        assert_eq!(how(&["sources", "db", "config", "fields"]), None);
        assert_eq!(how(&["municipality"]), None);
        assert!(is_whole(&p(&["mapping", "name"])));
        assert!(!is_whole(&p(&["programs"])));
    }

    #[test]
    fn dot_dot_is_taken_lexically() {
        let j = |a: &str, b: &str| join_lexically(Path::new(a), Path::new(b));
        assert_eq!(
            j("towns/a", "../../vendors/acme/p.toml"),
            Path::new("vendors/acme/p.toml")
        );
        assert_eq!(j("", "../v/p.toml"), Path::new("../v/p.toml"));
        assert_eq!(j("../v", "./../w/p.yaml"), Path::new("../w/p.yaml"));
        assert_eq!(j("/a/b", "../../../p.toml"), Path::new("/p.toml"));
        assert_eq!(j("/a/b", "/etc/p.toml"), Path::new("/etc/p.toml"));
    }
}
