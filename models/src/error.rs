//! The one error type of the crate. Every message names what was wrong and what to do,
//! because the engine shows it to the SQL user as it is.

/// What went wrong while training, predicting, evaluating, explaining or loading a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The name after `TO TRAIN` is not a model this crate knows.
    #[error("unknown estimator '{name}'; supported estimators: {supported}")]
    UnknownEstimator { name: String, supported: String },

    /// A `WITH` attribute the estimator does not accept.
    #[error("unknown attribute '{name}' for {estimator}; accepted attributes: {accepted}")]
    UnknownAttribute {
        estimator: String,
        name: String,
        accepted: String,
    },

    /// A `WITH` attribute of the wrong type or out of range.
    #[error("attribute '{name}' of {estimator}: expected {expected}, got {got}")]
    InvalidAttribute {
        estimator: String,
        name: String,
        expected: String,
        got: String,
    },

    /// A feature column the model was trained on is absent from the input.
    #[error(
        "column '{name}' is missing from the input; the model was trained on columns {expected}; \
         select these columns (same names) in the query"
    )]
    MissingColumn { name: String, expected: String },

    /// Feature data that cannot be used (ragged columns, mixed types, no rows, ...).
    #[error("invalid feature data: {0}")]
    InvalidData(String),

    /// Label data that cannot be used (NULLs, too many classes, non-numeric target, ...).
    #[error("invalid label: {0}")]
    InvalidLabel(String),

    /// `USING` an existing model that cannot be continued with this statement.
    #[error("cannot warm-start: {0}")]
    WarmStart(String),

    /// A metric name that the model's kind does not support.
    #[error("unknown metric '{name}' for {estimator}; valid metrics: {valid}")]
    UnknownMetric {
        estimator: String,
        name: String,
        valid: String,
    },

    /// The operation makes no sense for this model (e.g. `predict_proba` on a regressor).
    #[error("{operation} is not supported by {estimator}: {hint}")]
    Unsupported {
        estimator: String,
        operation: String,
        hint: String,
    },

    /// Training ran but produced no usable model (e.g. the loss diverged).
    #[error("training failed: {0}")]
    Training(String),

    /// The bytes were written by a newer, incompatible version of this crate.
    #[error(
        "model was saved by sqlflow-models format {found}; this build reads up to {supported}; \
         upgrade the server or retrain the model"
    )]
    FormatTooNew { found: u32, supported: u32 },

    /// The bytes are not a model saved by this crate, or they are damaged.
    #[error(
        "not a valid sqlflow-models model: {0}; retrain the model or check where it was loaded from"
    )]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, ModelError>;
