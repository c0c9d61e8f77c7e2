//! The source trait object.
// abi_stable 0.11's #[sabi_trait] expands to impl blocks inside consts, which rustc's
// `non_local_definitions` lint flags; the trait lives alone in this module so the allowance
// covers nothing else.
#![allow(non_local_definitions)]
// The generated vtable and trait-object code is `unsafe` (it erases the concrete type); there is
// no safe way to express it.
#![allow(unsafe_code)]

use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RResult, RString, RVec},
};

use crate::{RBatch, RPluginError};

/// An opened source, as the host holds it.
pub type SourceBox = Source_TO<'static, RBox<()>>;

/// A source reads tables of text cells. `Send` so the host may read on its own thread.
#[sabi_trait]
pub trait Source: Send {
    /// Checks that the configuration is valid and the inputs are readable, without reading rows.
    fn check(&self) -> RResult<(), RPluginError>;

    /// The column names, in cell order.
    fn discover(&self) -> RResult<RVec<RString>, RPluginError>;

    /// Reads up to `max_rows` rows; the first call starts reading. `RNone` at the end.
    /// A returned batch may hold fewer rows than asked (but at least one).
    #[sabi(last_prefix_field)]
    fn next_batch(&mut self, max_rows: u32) -> RResult<ROption<RBatch>, RPluginError>;

    /// Appended in 1.1: each column's type as the source knows it, in cell order, each a
    /// [`ColumnType`](crate::ColumnType) name (`integer`, `text`, …); empty when the source has no types (a file).
    /// Learnt without reading a row. A plugin built before 1.1 has no such method: the host
    /// gets this default, an empty list.
    fn column_types(&self) -> RResult<RVec<RString>, RPluginError> {
        abi_stable::std_types::ROk(RVec::new())
    }
}
