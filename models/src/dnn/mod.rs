//! Neural models: `DNNClassifier` / `DNNRegressor` (TensorFlow's canned estimators and
//! the Keras models `sqlflow_models.DNNClassifier` / `DNNRegressor`) and
//! `DNNLinearCombinedClassifier` / `Regressor` (wide and deep).
//!
//! One network: hidden layers (activation, then dropout, then batch normalization, in
//! the order TensorFlow's canned DNN applies them) and a softmax + cross-entropy or
//! linear + squared-error head. Wide and deep adds a linear part on its own columns
//! whose output is summed with the network's before the head; both parts train
//! together on the same loss, each with its own optimizer. Inputs (and a regressor's
//! target) are standardized internally; the scalers are part of the model.
//!
//! Its files: `flavor` (each estimator's attributes and defaults), `mlp` (the model:
//! training, prediction, the checks a loaded model must pass), `backprop` (one
//! mini-batch forward and backward), `layers` (layers, activations, batch norm, softmax).

mod backprop;
mod flavor;
mod layers;
mod mlp;

pub(crate) use flavor::activation as activation_spec;
pub(crate) use flavor::{
    CANNED, DnnFlavor, KERAS_CLASSIFIER, KERAS_REGRESSOR, TF_RUNTIME_SPECS, WIDE_DEEP,
};
pub(crate) use layers::{
    Activation, Layer, add_dense_grads, affine, softmax_in_place, softmax_rows,
};
pub(crate) use mlp::{DnnSetup, Mlp, WideDeepInputs};
