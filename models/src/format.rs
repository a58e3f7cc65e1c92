//! The saved-model format.
//!
//! ```text
//! bytes 0..8   magic "SQLFMODL"
//! bytes 8..12  format version, u32 little-endian
//! bytes 12..   the model as JSON (UTF-8)
//! ```
//!
//! JSON keeps saved models inspectable and lets old formats be read field by field when
//! the format evolves; floats round-trip exactly (serde_json `float_roundtrip`), so a
//! loaded model predicts bit-for-bit what the saved one did. A build reads every format
//! version up to [`FORMAT_VERSION`]; bump it when a change would make older builds
//! misread a model, and keep reading the older versions. Loaded models are checked for
//! internal consistency, so damaged bytes are an error at load time, never a panic later.

use crate::error::{ModelError, Result};
use crate::model::TrainedModel;

const MAGIC: &[u8; 8] = b"SQLFMODL";

/// The newest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 7;

/// Version 3 added `sqlflow_models.ScoreCard`. A score card is written as version 3 and
/// every other model still as 2, so builds of version 2 keep reading those, and call a
/// score card too new ("upgrade the server") rather than damaged.
const SCORE_CARD_VERSION: u32 = 3;

/// Version 4 added `sqlflow_models.OneClassSVM`, written as 4 for the same reason.
///
/// AutoClassifier / AutoRegressor need no version: their model is the winner's, and the
/// search is an optional field (`auto`) that older builds ignore.
const ONE_CLASS_SVM_VERSION: u32 = 4;

/// Version 5 added `sqlflow_models.DeepEmbeddingClusterModel`, written as 5 for the same
/// reason.
const DEC_VERSION: u32 = 5;

fn is_dec(model: &TrainedModel) -> bool {
    matches!(model.body, crate::model::Body::Dec(_))
}

/// Version 6 added `sqlflow_models.RNNBasedTimeSeriesModel` (taken after DEC's 5, which
/// was added at the same time), written as 6 for the same reason.
const RNN_VERSION: u32 = 6;

fn is_rnn(model: &TrainedModel) -> bool {
    matches!(model.body, crate::model::Body::Rnn(_))
}

/// Version 7 added `sqlflow_models.ARIMAWithSTLDecomposition`, written as 7 for the
/// same reason.
const ARIMA_VERSION: u32 = 7;

fn is_arima(model: &TrainedModel) -> bool {
    matches!(model.body, crate::model::Body::Arima(_))
}

fn version_of(model: &TrainedModel) -> u32 {
    if is_arima(model) {
        ARIMA_VERSION
    } else if is_rnn(model) {
        RNN_VERSION
    } else if is_dec(model) {
        DEC_VERSION
    } else if model.task() == crate::Task::OutlierDetection {
        ONE_CLASS_SVM_VERSION
    } else if model.score_card().is_some() {
        SCORE_CARD_VERSION
    } else {
        2
    }
}

const HEADER: usize = MAGIC.len() + 4;

impl TrainedModel {
    /// Serializes the model (see the crate docs for the format).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&version_of(self).to_le_bytes());
        serde_json::to_writer(&mut out, self)
            .map_err(|e| ModelError::Training(format!("could not serialize the model: {e}")))?;
        Ok(out)
    }

    /// Loads a model written by [`to_bytes`](Self::to_bytes) of this or an older build.
    pub fn from_bytes(bytes: &[u8]) -> Result<TrainedModel> {
        if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::Corrupt(format!(
                "the {} bytes do not start with the sqlflow-models header",
                bytes.len()
            )));
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&bytes[MAGIC.len()..HEADER]);
        let version = u32::from_le_bytes(version);
        if version > FORMAT_VERSION {
            return Err(ModelError::FormatTooNew {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(ModelError::Corrupt(
                "format version 0 does not exist".into(),
            ));
        }
        let model: TrainedModel = serde_json::from_slice(&bytes[HEADER..])
            .map_err(|e| ModelError::Corrupt(format!("the model data cannot be read ({e})")))?;
        if (version < SCORE_CARD_VERSION && model.score_card().is_some())
            || (version < ONE_CLASS_SVM_VERSION && model.task() == crate::Task::OutlierDetection)
            || (version < DEC_VERSION && is_dec(&model))
            || (version < RNN_VERSION && is_rnn(&model))
            || (version < ARIMA_VERSION && is_arima(&model))
        {
            return Err(ModelError::Corrupt(format!(
                "format version {version} cannot hold a {} model",
                model.estimator()
            )));
        }
        if !model.check() {
            return Err(ModelError::Corrupt("the model data is inconsistent".into()));
        }
        Ok(model)
    }
}
