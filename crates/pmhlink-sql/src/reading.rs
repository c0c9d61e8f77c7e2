//! The shape every database source shares: a statement's rows stepped by a thread of the
//! plugin's own that owns the connection (a driver's statement, transaction or portal borrows
//! its connection across `next_batch` calls), one batch per request, so at most one batch is
//! in memory; and the source around it, which starts that thread at the first batch and,
//! once the read ended or failed, stays ended.

use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use pmhlink_pdk::api::{BatchBuilder, RBatch};
use pmhlink_pdk::{ColumnType, PluginError, SourcePlugin};

/// A batch, the end (`None`), or why the read stopped.
pub type Reply = Result<Option<RBatch>, PluginError>;

/// A database as a source: what the plugin knows how to do with its settings.
pub trait Database: Clone + Send + 'static {
    /// The reading thread's name.
    const THREAD: &'static str;

    /// The statement's columns and their types, from preparing it: no row is read.
    fn describe(&self) -> Result<Description, PluginError>;

    /// The reading thread's body: connect, start the read, answer each request with a batch.
    fn serve(self, requests: Requests);
}

/// What preparing a statement tells of its result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    /// The columns' names, in the statement's order.
    pub names: Vec<String>,
    /// Each column's type, in the same order; empty when the plugin cannot tell (`check`
    /// then cannot warn of identifiers held as numbers).
    pub types: Vec<ColumnType>,
}

/// The reading thread's side: requests (a `max_rows` each) in, replies out.
pub struct Requests {
    requested: Receiver<usize>,
    reply: SyncSender<Reply>,
}

impl Requests {
    /// The next request's `max_rows`; `None` once the source is gone (the thread then ends).
    pub fn next(&self) -> Option<usize> {
        self.requested.recv().ok()
    }

    /// Sends `reply`; `false` when nobody waits for it any more.
    pub fn answer(&self, reply: Reply) -> bool {
        self.reply.send(reply).is_ok()
    }

    /// Answers with the batch made for a request (none when it holds no row: the end), or
    /// with the failure that stopped it. `false` when the thread is to stop: the read failed,
    /// or nobody waits any more.
    pub fn answer_batch(&self, batch: BatchBuilder, failed: Option<PluginError>) -> bool {
        let reply = match failed {
            Some(e) => Err(e),
            None => Ok((batch.rows() > 0).then(|| batch.finish())),
        };
        let stop = reply.is_err();
        self.answer(reply) && !stop
    }

    /// Answers the next request with `e` (the read could not start).
    pub fn refuse(self, e: PluginError) {
        if self.next().is_some() {
            self.answer(Err(e));
        }
    }
}

/// The source's side of the reading thread.
struct Reading {
    requests: Option<SyncSender<usize>>,
    replies: Receiver<Reply>,
    worker: Option<JoinHandle<()>>,
}

impl Reading {
    fn start<D: Database>(database: D) -> Reading {
        let (requests, requested) = sync_channel::<usize>(0);
        let (reply, replies) = sync_channel::<Reply>(0);
        let worker = std::thread::Builder::new()
            .name(D::THREAD.into())
            .spawn(move || database.serve(Requests { requested, reply }))
            .ok();
        Reading {
            requests: Some(requests),
            replies,
            worker,
        }
    }

    fn next(&mut self, max_rows: usize) -> Reply {
        let gone = || PluginError::other("the reading thread stopped");
        let requests = self.requests.as_ref().ok_or_else(gone)?;
        requests.send(max_rows).map_err(|_| gone())?;
        self.replies.recv().map_err(|_| gone())?
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        // The thread ends when its request channel closes.
        self.requests = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// A database source: `check`/`discover` learn the columns, `next_batch` reads on the thread.
pub struct DbSource<D: Database> {
    database: D,
    /// The statement's description, learnt once: `check`, `discover` and `column_types` ask
    /// in turn, and each asking would be a connection and a prepare.
    described: OnceLock<Description>,
    reading: Option<Reading>,
    finished: bool,
}

impl<D: Database> DbSource<D> {
    pub fn new(database: D) -> DbSource<D> {
        DbSource {
            database,
            described: OnceLock::new(),
            reading: None,
            finished: false,
        }
    }
}

impl<D: Database> DbSource<D> {
    /// The statement's description, from the database the first time it is asked for (a
    /// failure is not kept: the next call asks again).
    fn description(&self) -> Result<&Description, PluginError> {
        if let Some(d) = self.described.get() {
            return Ok(d);
        }
        let d = self.database.describe()?;
        Ok(self.described.get_or_init(|| d))
    }
}

impl<D: Database> SourcePlugin for DbSource<D> {
    fn check(&self) -> Result<(), PluginError> {
        self.description().map(drop)
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        self.description().map(|d| d.names.clone())
    }

    fn column_types(&self) -> Result<Vec<ColumnType>, PluginError> {
        self.description().map(|d| d.types.clone())
    }

    fn next_batch(&mut self, max_rows: usize) -> Reply {
        if self.finished {
            return Ok(None);
        }
        let reading = match &mut self.reading {
            Some(r) => r,
            None => self.reading.insert(Reading::start(self.database.clone())),
        };
        let batch = reading.next(max_rows);
        if !matches!(batch, Ok(Some(_))) {
            self.finished = true;
            self.reading = None;
        }
        batch
    }
}
