//! The sending half of a run: a prepared plan read back from the ledger in position order,
//! turned into payload batches of the profile's layout, handed to every sink, and tracked in
//! the ledger; and the resume of a run that died while doing so ("look first, then decide":
//! a batch a sink already holds is never handed over again).

use std::collections::HashMap;

use pmhlink_diff::Action;
use pmhlink_ledger::{Ledger, RunState, Staged, SubmissionState};
use pmhlink_profile::Layout;
use pmhlink_profile::write::{Batch, PayloadWriter};
use sha2::Digest as _;

use crate::report::BatchReport;
use crate::vocab::RunError;
use crate::vocab::{PayloadMeta, Receipt, SinkHandle};

fn payload_err(e: impl std::fmt::Display) -> RunError {
    RunError::Payload(e.to_string())
}

/// Canonical content into the layout's wire form, batch by batch. Deterministic: the same rows
/// give the same batches, which is what lets a resumed run recognise what it already sent.
pub struct Batcher<'l> {
    layout: &'l Layout,
    writer: PayloadWriter<'l>,
}

impl<'l> Batcher<'l> {
    pub fn new(layout: &'l Layout) -> Batcher<'l> {
        Batcher {
            layout,
            writer: PayloadWriter::new(layout),
        }
    }

    pub fn push(&mut self, action: Action, content: &[u8]) -> Result<Option<Batch>, RunError> {
        let mut record = pmhlink_model::decode_content(content).map_err(payload_err)?;
        if self.layout.sync() != pmhlink_profile::SyncMode::Full {
            record.history.get_or_insert_with(Default::default).deleted = action == Action::Delete;
        }
        self.writer.push(&record).map_err(payload_err)
    }

    pub fn finish(self) -> Option<Batch> {
        self.writer.finish()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Where a run to deliver stands.
pub struct Delivery<'a> {
    pub run_id: &'a str,
    pub attempt: u32,
    pub municipality: &'a str,
    pub layout: &'a Layout,
    pub manifest_json: String,
}

/// What delivering (or resuming) a run did.
#[derive(Debug, Default)]
pub struct Delivered {
    pub batches: Vec<BatchReport>,
    /// Batches a sink already held from an interrupted attempt, not sent again.
    pub already_held: usize,
    pub sink_summaries: Vec<String>,
    pub state: Option<RunState>,
}

const ROWS_PER_READ: u32 = 16_384;

/// Delivers every batch of a prepared run that its sinks do not hold yet, then makes the run's
/// deliveries final. On any failure the run stays prepared and the next attempt resumes it.
pub fn deliver(
    ledger: &mut Ledger,
    run: &Delivery<'_>,
    sinks: &mut [&mut (dyn SinkHandle + Send)],
) -> Result<Delivered, RunError> {
    crate::failpoint::hit("planned");
    let ledger_err = |e: pmhlink_ledger::LedgerError| RunError::Ledger(e.to_string());
    let mut out = Delivered::default();
    // Look first: what did an earlier attempt hand over, and do the sinks still hold it?
    let mut held: HashMap<u32, String> = HashMap::new();
    for s in ledger.submissions(run.run_id).map_err(ledger_err)? {
        let final_already = match s.state {
            SubmissionState::Staged => {
                let mut all = s.receipts.len() == sinks.len();
                for (sink, receipt) in sinks.iter_mut().zip(&s.receipts) {
                    all &= sink.holds(&Receipt::from_ledger(receipt))?;
                }
                all
            }
            _ => true,
        };
        if final_already {
            held.insert(s.seq, s.payload_sha256);
        }
    }
    let format = run.layout.format().extension();
    let mut handed_over = 0usize;
    let mut position = 0u64;
    let mut first_position = 0u64;
    let mut on_batch = |batch: Batch, first: u64, ledger: &mut Ledger| -> Result<(), RunError> {
        let seq = batch.seq as u32 + 1;
        let sha = sha256_hex(&batch.bytes);
        let mut report = BatchReport {
            seq: batch.seq,
            records: batch.records,
            bytes: batch.bytes.len(),
            receipt: None,
        };
        if let Some(sent) = held.get(&seq) {
            if *sent != sha {
                return Err(RunError::Payload(format!(
                    "batch {seq} of run {} no longer has the content that was delivered; the ledger, the profile or the pipeline's `[batch]` changed under an interrupted run",
                    run.run_id
                )));
            }
            out.already_held += 1;
            out.batches.push(report);
            return Ok(());
        }
        let meta = PayloadMeta {
            run_id: run.run_id.to_owned(),
            municipality: run.municipality.to_owned(),
            api: run.layout.api.to_string(),
            format,
            seq: batch.seq,
            records: batch.records,
            file_name: run.layout.payload_file_name(batch.seq),
        };
        let mut receipts = Vec::new();
        for sink in sinks.iter_mut() {
            receipts.push(sink.deliver(&meta, batch.bytes.clone())?);
        }
        let receipts: Vec<String> = receipts.iter().map(Receipt::to_ledger).collect();
        ledger
            .stage(&Staged {
                run_id: run.run_id,
                seq,
                api: &meta.api,
                first_position: first,
                records: batch.records as u32,
                bytes: batch.bytes.len() as u64,
                payload_sha256: &sha,
                receipts: &receipts,
            })
            .map_err(ledger_err)?;
        report.receipt = Some(receipts.join(", "));
        out.batches.push(report);
        handed_over += 1;
        crate::failpoint::hit("staged");
        Ok(())
    };
    let mut batcher = Batcher::new(run.layout);
    loop {
        let rows = ledger
            .sent_rows(run.run_id, position, ROWS_PER_READ)
            .map_err(ledger_err)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if let Some(batch) = batcher.push(row.action, &row.content)? {
                let records = batch.records as u64;
                on_batch(batch, first_position, ledger)?;
                first_position += records;
            }
            position = row.position + 1;
        }
    }
    if let Some(batch) = batcher.finish() {
        on_batch(batch, first_position, ledger)?;
    }
    if handed_over > 0 {
        for sink in sinks.iter_mut() {
            out.sink_summaries
                .push(sink.finish(run.run_id, true, run.manifest_json.clone())?);
        }
    }
    crate::failpoint::hit("finished");
    out.state = Some(
        ledger
            .finish_delivery(run.run_id, run.attempt)
            .map_err(ledger_err)?,
    );
    Ok(out)
}
