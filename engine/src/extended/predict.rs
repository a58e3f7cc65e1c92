//! `TO PREDICT`, streamed: rows are read, predicted and set aside a batch at a time, so
//! memory is bounded by the batch whatever the row count. The result table's column
//! types depend on every row (a column NULL in the first batch may hold text later), so
//! predicted rows wait in an anonymous temporary file until the query ends, then go
//! into the new table in batches.

use std::{
    fs,
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
};

use prost::Message as _;
use sqlflow_models::{Column as ModelColumn, Task, TrainedModel};
use sqlflow_proto::sqlflow::{Cell, Row, message::Kind};
use sqlflow_sql::extended::Predict;

use super::{
    batches::{BATCH_ROWS, for_each_batch, placed},
    model_error, model_inputs, prediction_value, table,
};
use crate::{
    Value,
    backend::{Backend, Column, ColumnType, DbError},
    exec::EngineError,
    model_store,
    output::RecordWriter,
};

pub(super) fn predict<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    p: &Predict,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let target = table(&p.table)?;
    if !p.attrs.is_empty() {
        let names: Vec<&str> = p.attrs.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "TO PREDICT takes no attributes here (got {}); remove the WITH clause",
            names.join(", ")
        )
        .into());
    }
    let stored = model_store::load(db, &table(&p.using)?)?;
    // `TO PREDICT table USING m` names the result after the label, as SQLFlow does.
    let column = match (&p.column, &stored.meta.label) {
        (Some(c), _) => c.clone(),
        (None, Some(label)) => label.clone(),
        (None, None) => {
            return Err(format!(
                "{} has no label to name the result column after ({} learns without one); \
                 name it: TO PREDICT {}.<column> USING {}",
                p.using, stored.meta.estimator, p.table, p.using
            )
            .into());
        }
    };
    let extra = Extra::of(&stored.model);
    let predicted: Vec<&str> = std::iter::once(column.as_str())
        .chain(extra.names().iter().copied())
        .collect();
    // The selected columns the result keeps: all but those named like the predicted
    // ones, which the predictions replace.
    let keeps = |c: &Column| !predicted.iter().any(|n| c.name.eq_ignore_ascii_case(n));
    let mut spool = Spool::new().map_err(spool_error)?;
    // Each result column's type so far (None: only NULLs yet).
    let mut types: Vec<Option<ColumnType>> = Vec::new();
    let mut rows = 0u64;
    let input = for_each_batch(db, select, |data, first| {
        let placed = placed(first);
        let keep: Vec<bool> = data.columns.iter().map(keeps).collect();
        let features =
            model_inputs(stored.meta.feature_columns.as_ref(), &data).map_err(&placed)?;
        let predictions = stored
            .model
            .predict(&features)
            .map_err(|e| placed(model_error(e)))?;
        let extra_values = extra.values(&stored.model, &features).map_err(&placed)?;
        drop(features);
        for (i, (row, pred)) in data.rows.into_iter().zip(&predictions).enumerate() {
            let mut r: Vec<Value> = row
                .into_iter()
                .zip(&keep)
                .filter_map(|(v, k)| k.then_some(v))
                .collect();
            r.push(prediction_value(pred));
            r.extend(extra_values.iter().map(|values| values[i].clone()));
            if types.len() < r.len() {
                types.resize(r.len(), None);
            }
            for (t, v) in types.iter_mut().zip(&r) {
                *t = ColumnType::widen(*t, v);
            }
            spool.push(r).map_err(spool_error)?;
            rows += 1;
        }
        Ok(())
    })?;
    let mut names: Vec<String> = input
        .iter()
        .filter(|c| keeps(c))
        .map(|c| c.name.clone())
        .collect();
    names.push(column.clone());
    names.extend(extra.names().iter().map(|n| n.to_string()));
    let columns: Vec<(String, ColumnType)> = names
        .into_iter()
        .zip(types.iter().chain(std::iter::repeat(&None)))
        .map(|(n, t)| (n, t.unwrap_or(ColumnType::Text)))
        .collect();
    db.create_table(&target, &columns)?;
    let mut saved = spool.read_back().map_err(spool_error)?;
    db.insert_batches(&target, &columns, &mut || {
        let batch = saved
            .next_batch(BATCH_ROWS)
            .map_err(|e| DbError::Invalid(format!("cannot read the predicted rows back: {e}")))?;
        Ok((!batch.is_empty()).then_some(batch))
    })?;
    out.message(
        format!(
            "wrote {rows} predictions of {} into {target}.{column}",
            stored.meta.estimator,
        ),
        Kind::Log,
    )
    .map_err(Into::into)
}

fn spool_error(e: io::Error) -> EngineError {
    format!("cannot set predicted rows aside in a temporary file: {e}").into()
}

/// The columns PREDICT adds after the predicted one.
#[derive(Clone, Copy)]
enum Extra {
    None,
    /// A one-class SVM's `decision_function` (scikit-learn's: > 0 inside the learned
    /// region).
    DecisionFunction,
    /// A score card's `score` (the sum of the card's points, higher is less risky) and
    /// `probability` (of the label's second class, "bad").
    ScoreCard,
}

impl Extra {
    fn of(model: &TrainedModel) -> Extra {
        if model.task() == Task::OutlierDetection {
            Extra::DecisionFunction
        } else if model.score_card().is_some() {
            Extra::ScoreCard
        } else {
            Extra::None
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Extra::None => &[],
            Extra::DecisionFunction => &["decision_function"],
            Extra::ScoreCard => &["score", "probability"],
        }
    }

    /// Each column's values for the rows of `features`, in the order of [`names`](Self::names).
    fn values(
        self,
        model: &TrainedModel,
        features: &[ModelColumn],
    ) -> Result<Vec<Vec<Value>>, EngineError> {
        Ok(match self {
            Extra::None => Vec::new(),
            Extra::DecisionFunction => {
                let values = model.decision_function(features).map_err(model_error)?;
                vec![values.into_iter().map(Value::Double).collect()]
            }
            Extra::ScoreCard => {
                let scores = model.predict_scores(features).map_err(model_error)?;
                let proba = model.predict_proba(features).map_err(model_error)?;
                vec![
                    scores
                        .into_iter()
                        // The points are whole, so scores are too: integers in SQL.
                        .map(|s| {
                            if s.fract() == 0.0 && s.abs() < 9.0e15 {
                                Value::Int64(s as i64)
                            } else {
                                Value::Double(s)
                            }
                        })
                        .collect(),
                    proba
                        .iter()
                        .map(|p| Value::Double(p.get(1).copied().unwrap_or(f64::NAN)))
                        .collect(),
                ]
            }
        })
    }
}

/// Rows set aside in an anonymous temporary file, each a length-prefixed `Row`.
struct Spool {
    file: BufWriter<fs::File>,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        Ok(Spool {
            file: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
        })
    }

    fn push(&mut self, values: Vec<Value>) -> io::Result<()> {
        let row = Row {
            cells: values
                .into_iter()
                .map(|v| Cell { value: Some(v) })
                .collect(),
        };
        let bytes = row.encode_length_delimited_to_vec();
        self.file.write_all(&bytes)
    }

    fn read_back(self) -> io::Result<SpoolReader> {
        let mut f = self.file.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            file: BufReader::with_capacity(1 << 20, f),
            buf: Vec::new(),
        })
    }
}

struct SpoolReader {
    file: BufReader<fs::File>,
    buf: Vec<u8>,
}

impl SpoolReader {
    /// Up to `n` rows; none at the end.
    fn next_batch(&mut self, n: usize) -> io::Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        while rows.len() < n {
            let Some(len) = self.read_len()? else {
                break;
            };
            self.buf.resize(len, 0);
            self.file.read_exact(&mut self.buf)?;
            let row = Row::decode(self.buf.as_slice())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            rows.push(
                row.cells
                    .into_iter()
                    .map(|c| c.value.unwrap_or(Value::Null(Default::default())))
                    .collect(),
            );
        }
        Ok(rows)
    }

    /// The next row's length prefix (a varint), or None at the end of the file.
    fn read_len(&mut self) -> io::Result<Option<usize>> {
        let mut len = 0u64;
        for shift in (0..64).step_by(7) {
            let mut byte = [0u8];
            if self.file.read(&mut byte)? == 0 {
                return if shift == 0 {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
            len |= u64::from(byte[0] & 0x7f) << shift;
            if byte[0] & 0x80 == 0 {
                return usize::try_from(len)
                    .map(Some)
                    .map_err(|_| io::ErrorKind::InvalidData.into());
            }
        }
        Err(io::ErrorKind::InvalidData.into())
    }
}
