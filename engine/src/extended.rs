//! Runs SQLFlow's extended statements: the standard query part goes to the database as
//! written; its result feeds a Rust-native model from `sqlflow-models`; models are
//! saved in and loaded from the database (`model_store`).

use std::{io::Write, time::Instant};

use sqlflow_models::{
    AttrValue, Attrs, ClassLabel, Column as ModelColumn, Feature, ModelError, Prediction, Task,
    TrainedModel,
};
use sqlflow_proto::sqlflow::message::Kind;
use sqlflow_sql::extended::{Evaluate, Explain, Expr, ExtKind, Extended, Predict, Train};

use crate::{
    Value,
    backend::{Backend, Collected, Column, ColumnType, RowSink, TableName, query_all},
    exec::EngineError,
    feature_columns::{self, FeaturePlan},
    figures,
    model_store::{self, ModelMeta, STORE_FORMAT},
    output::RecordWriter,
};

/// Attributes the engine itself handles; everything else goes to the model.
const ENGINE_ATTRS: [&str; 2] = ["validation.select", "validation.metrics"];

pub fn run<W: Write>(
    db: &mut dyn Backend,
    ext: &Extended,
    statement: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    match &ext.kind {
        ExtKind::Train(t) => train(db, &ext.select, t, statement, out),
        ExtKind::Predict(p) => predict(db, &ext.select, p, out),
        ExtKind::Evaluate(e) => evaluate(db, &ext.select, e, out),
        ExtKind::Explain(x) => explain(db, &ext.select, x, out),
        ExtKind::ShowTrain { model } => show_train(db, model, out),
        ExtKind::Run(_) | ExtKind::Optimize(_) => Err(EngineError::Unsupported(ext.kind.clause())),
    }
}

fn table(name: &str) -> Result<TableName, EngineError> {
    Ok(TableName::parse(name)?)
}

fn data(db: &mut dyn Backend, select: &str) -> Result<Collected, EngineError> {
    let d = query_all(db, select)?;
    Ok(d)
}

/// A result column as model input. NULL stays missing; numbers and booleans are
/// numeric; text, dates and times are categories.
fn to_model_column(data: &Collected, idx: usize) -> Result<ModelColumn, EngineError> {
    let name = data.columns[idx].name.clone();
    let mut values = Vec::with_capacity(data.rows.len());
    for row in &data.rows {
        values.push(match &row[idx] {
            Value::Null(_) => None,
            Value::Bool(b) => Some(Feature::Num(f64::from(u8::from(*b)))),
            Value::Int64(i) => Some(Feature::Num(*i as f64)),
            Value::Double(f) => Some(Feature::Num(*f)),
            Value::Decimal(s) => Some(Feature::Num(s.parse().map_err(|_| {
                format!("column {name}: DECIMAL value {s} is not a number")
            })?)),
            Value::String(s) | Value::Date(s) | Value::Time(s) | Value::Timestamp(s) => {
                Some(Feature::Str(s.clone()))
            }
            Value::Bytes(_) => {
                return Err(format!(
                    "column {name} holds binary data, which cannot be a feature; leave it out of the SELECT"
                ).into());
            }
        });
    }
    Ok(ModelColumn { name, values })
}

fn find(data: &Collected, name: &str) -> Result<usize, EngineError> {
    data.columns
        .iter()
        .position(|c| c.name == name)
        .or_else(|| {
            data.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            let have: Vec<&str> = data.columns.iter().map(|c| c.name.as_str()).collect();
            format!(
                "the query has no column {name}; its columns are {}",
                have.join(", ")
            )
            .into()
        })
}

fn attr_value(e: &Expr) -> AttrValue {
    match e {
        Expr::Int(i) => AttrValue::Int(*i),
        Expr::Float(f) => AttrValue::Float(*f),
        Expr::Str(s) => AttrValue::Str(s.clone()),
        Expr::Ident(s) => AttrValue::Ident(s.clone()),
        Expr::Bool(b) => AttrValue::Bool(*b),
        Expr::List(items) => AttrValue::List(items.iter().map(attr_value).collect()),
    }
}

fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Float(f) => f.to_string(),
        AttrValue::Str(s) => format!("\"{s}\""),
        AttrValue::Ident(s) => s.clone(),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::List(items) => {
            format!(
                "[{}]",
                items.iter().map(attr_text).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

/// Engine attributes: `validation.select` and `validation.metrics`.
struct EngineAttrs {
    validation_select: Option<String>,
    metrics: Option<Vec<String>>,
    /// Lines for the job's log about accepted attributes without effect.
    notices: Vec<String>,
}

/// TensorFlow's validation schedule: accepted, as SQLFlow's programs set them, without
/// effect, because validation here runs on all `validation.select` rows at once.
const VALIDATION_NO_EFFECT: [&str; 3] = [
    "validation.steps",
    "validation.start_delay_secs",
    "validation.throttle_secs",
];

fn split_attrs(
    attrs: &[(String, Expr)],
    allowed_extra: &[&str],
) -> Result<(EngineAttrs, Attrs), EngineError> {
    let mut engine = EngineAttrs {
        validation_select: None,
        metrics: None,
        notices: Vec::new(),
    };
    let mut model = Attrs::new();
    for (name, value) in attrs {
        let lower = name.to_ascii_lowercase();
        let text = || match value {
            Expr::Str(s) | Expr::Ident(s) => Ok::<_, EngineError>(s.clone()),
            other => Err(format!("attribute {name} expects a string, got {other}").into()),
        };
        match lower.as_str() {
            "validation.select" => engine.validation_select = Some(text()?),
            "validation.metrics" => {
                engine.metrics = Some(
                    text()?
                        .split(',')
                        .map(|m| m.trim().to_string())
                        .filter(|m| !m.is_empty())
                        .collect(),
                )
            }
            _ if allowed_extra.iter().any(|p| lower.starts_with(p)) => {}
            _ if VALIDATION_NO_EFFECT.contains(&lower.as_str()) => engine.notices.push(format!(
                "{name} has no effect here: validation evaluates all validation.select rows \
                 (per epoch or boosting round while training, and once at the end)"
            )),
            _ if lower.starts_with("validation.") => {
                return Err(format!(
                    "unknown attribute {name}; validation attributes are {} \
                     (accepted without effect: {})",
                    ENGINE_ATTRS.join(", "),
                    VALIDATION_NO_EFFECT.join(", ")
                )
                .into());
            }
            _ => {
                model.insert(name.clone(), attr_value(value));
            }
        }
    }
    Ok((engine, model))
}

/// Model errors, with the engine's own attributes added where the model lists its own.
fn model_error(e: ModelError) -> EngineError {
    match e {
        ModelError::UnknownAttribute { .. } => {
            format!("{e}; and for any model: {}", ENGINE_ATTRS.join(", ")).into()
        }
        other => other.to_string().into(),
    }
}

/// The metrics reported when none are asked for; none lets the model choose (ARI for
/// clustering).
fn default_metrics(task: Task) -> &'static [&'static str] {
    match task {
        Task::Classification => sqlflow_models::metrics::CLASSIFICATION_METRICS,
        Task::Regression => sqlflow_models::metrics::REGRESSION_METRICS,
        Task::Clustering => &[],
    }
}

fn metrics_text(m: &[(String, f64)]) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn evaluate_on(
    model: &TrainedModel,
    plan: Option<&FeaturePlan>,
    data: &Collected,
    label: &str,
    metrics: Option<&[String]>,
) -> Result<Vec<(String, f64)>, EngineError> {
    let features = model_inputs(plan, data)?;
    let label_col = to_model_column(data, find(data, label)?)?;
    let names: Vec<&str> = match metrics {
        Some(m) => m.iter().map(String::as_str).collect(),
        None => default_metrics(model.task()).to_vec(),
    };
    model
        .evaluate(&features, &label_col, &names)
        .map_err(model_error)
}

/// The model's inputs from a query's rows: its feature columns applied, or (models saved
/// before feature columns) the columns as they are.
fn model_inputs(
    plan: Option<&FeaturePlan>,
    data: &Collected,
) -> Result<Vec<ModelColumn>, EngineError> {
    match plan {
        Some(p) => p.transform(data),
        None => all_columns(data),
    }
}

/// A new model's feature columns, or those of the model it continues (`USING`), which
/// keeps the transform it was trained with.
fn train_plan<W: Write>(
    data: &Collected,
    t: &Train,
    warm: Option<&model_store::Stored>,
    neural: bool,
    out: &mut RecordWriter<W>,
) -> Result<Option<FeaturePlan>, EngineError> {
    let plan = match warm {
        Some(w) => match &w.meta.feature_columns {
            Some(old) => {
                old.check_same_clauses(&t.columns)?;
                old.clone()
            }
            None => return Ok(None),
        },
        None => feature_columns::plan(data, &t.columns, t.label.as_deref(), neural)?,
    };
    out.message(format!("feature columns: {}", plan.describe()), Kind::Log)?;
    let initializers =
        t.columns.iter().flat_map(|c| &c.features).any(
            |f| matches!(f, sqlflow_sql::FeatureColumn::Embedding(e) if e.initializer.is_some()),
        );
    if initializers {
        out.message(
            "note: EMBEDDING's INITIALIZER has no effect here: tables start from a truncated \
             normal with deviation 1/sqrt(SIZE), TensorFlow's default",
            Kind::Log,
        )?;
    }
    if !neural && !plan.embeddings().is_empty() {
        out.message(
            format!(
                "note: EMBEDDING tables are learned by DNN models only; {} uses their ids as \
                 categorical features",
                t.estimator
            ),
            Kind::Log,
        )?;
    }
    Ok(Some(plan))
}

/// The inputs of a model saved before feature columns: the listed (or all but the label)
/// columns as they are.
fn legacy_features(
    data: &Collected,
    t: &Train,
    label_idx: Option<usize>,
) -> Result<Vec<ModelColumn>, EngineError> {
    let idx: Vec<usize> = if t.columns.is_empty() {
        (0..data.columns.len())
            .filter(|i| Some(*i) != label_idx)
            .collect()
    } else {
        let mut v = Vec::new();
        for clause in &t.columns {
            for c in &clause.columns {
                v.push(find(data, c)?);
            }
        }
        v
    };
    idx.iter().map(|&i| to_model_column(data, i)).collect()
}

fn all_columns(data: &Collected) -> Result<Vec<ModelColumn>, EngineError> {
    (0..data.columns.len())
        .filter(|&i| {
            // Binary columns cannot be features; leaving them out lets SELECT * work.
            !data.rows.iter().any(|r| matches!(r[i], Value::Bytes(_)))
        })
        .map(|i| to_model_column(data, i))
        .collect()
}

fn train<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    t: &Train,
    statement: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let into = table(&t.into)?;
    let (engine, attrs) = split_attrs(&t.attrs, &[])?;
    // The estimator and its attributes are checked before any data is read: a typo
    // should not wait for a long query.
    let info = sqlflow_models::estimator_info(&t.estimator).map_err(model_error)?;
    match (&t.label, info.needs_label) {
        (Some(_), false) => {
            return Err(format!("{} is unsupervised: remove LABEL", info.name).into());
        }
        (None, true) => {
            return Err(format!(
                "{} learns from a label: add LABEL <column> before INTO",
                info.name
            )
            .into());
        }
        _ => {}
    }
    let notices = sqlflow_models::validate_attributes(&t.estimator, &attrs).map_err(model_error)?;
    for line in engine.notices.iter().chain(&notices) {
        out.message(format!("note: {line}"), Kind::Log)?;
    }
    let warm = match &t.using {
        Some(m) => Some(model_store::load(db, &table(m)?)?),
        None => None,
    };
    let started = Instant::now();
    let data = data(db, select)?;
    if data.rows.is_empty() {
        return Err(format!("the query returned no rows to train {} on", t.estimator).into());
    }
    let label_idx = t.label.as_deref().map(|l| find(&data, l)).transpose()?;
    let neural = info.name.to_ascii_uppercase().contains("DNN");
    let plan = train_plan(&data, t, warm.as_ref(), neural, out)?;
    // A clause without FOR feeds SQLFlow's default input, `feature_columns`.
    let groups: Vec<(String, Vec<String>)> = match &plan {
        Some(p) => p.model_groups(),
        None => t
            .columns
            .iter()
            .map(|c| {
                let input = c.for_input.as_deref().unwrap_or("feature_columns");
                (input.to_string(), c.columns.clone())
            })
            .collect(),
    };
    if info.inputs.is_empty()
        && groups
            .iter()
            .any(|(input, _)| !input.eq_ignore_ascii_case("feature_columns"))
    {
        out.message(
            format!(
                "note: COLUMN ... FOR <input> has no effect on {}: it has one input, which all listed columns feed",
                info.name
            ),
            Kind::Log,
        )?;
    }
    let features = match &plan {
        Some(p) => p.transform(&data)?,
        None => legacy_features(&data, t, label_idx)?,
    };
    let label = label_idx.map(|i| to_model_column(&data, i)).transpose()?;
    // Read before training: boosting and neural models report on these rows as they
    // train, and early stopping watches them.
    let validation = match (&engine.validation_select, &t.label) {
        (Some(v), Some(l)) => {
            let vdata = data_for_validation(db, v)?;
            let idx = find(&vdata, l).map_err(|e| format!("validation.select: {e}"))?;
            let vlabel = to_model_column(&vdata, idx)?;
            let vfeatures = model_inputs(plan.as_ref(), &vdata)
                .map_err(|e| format!("validation.select: {e}"))?;
            Some((vdata, vfeatures, vlabel))
        }
        _ => None,
    };
    out.message(
        format!(
            "training {} on {} rows, {} features",
            t.estimator,
            data.rows.len(),
            features.len()
        ),
        Kind::Progress,
    )?;
    out.flush()?;
    let mut progress = |line: &str| {
        // Progress must reach the client while training, not after it.
        let _ = out.message(line, Kind::Progress);
        let _ = out.flush();
    };
    let options = sqlflow_models::TrainOptions {
        warm_start: warm.as_ref().map(|w| &w.model),
        validation: validation
            .as_ref()
            .map(|(_, features, label)| (features.as_slice(), label)),
        metrics: engine.metrics.clone().unwrap_or_default(),
        column_groups: groups,
        embeddings: plan
            .as_ref()
            .map(FeaturePlan::embeddings)
            .unwrap_or_default(),
    };
    let (model, history) = sqlflow_models::train_with_history(
        &t.estimator,
        &attrs,
        &features,
        label.as_ref(),
        &options,
        &mut progress,
    )
    .map_err(model_error)?;
    let trained_in = started.elapsed();
    let mut metrics = Vec::new();
    if let (Some((vdata, _, _)), Some(label_name)) = (&validation, t.label.as_deref()) {
        metrics = evaluate_on(
            &model,
            plan.as_ref(),
            vdata,
            label_name,
            engine.metrics.as_deref(),
        )?;
        out.message(format!("validation: {}", metrics_text(&metrics)), Kind::Log)?;
    }
    let meta = ModelMeta {
        store_format: STORE_FORMAT,
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        statement: statement.to_string(),
        estimator: model.estimator().to_string(),
        attributes: model
            .attributes()
            .iter()
            .map(|(k, v)| (k.clone(), attr_text(v)))
            .collect(),
        features: model
            .feature_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        label: model.label_name().map(str::to_string),
        metrics,
        feature_columns: plan,
        trained_rows: data.rows.len() as u64,
        created_at_ms: sqlflow_proto::jobdir::now_ms(),
        chunks: 0,
        model_bytes: 0,
    };
    model_store::save(db, &into, &meta, &model)?;
    out.message(
        format!(
            "trained {} in {:.2} s; saved into {into}",
            model.estimator(),
            trained_in.as_secs_f64()
        ),
        Kind::Log,
    )?;
    figures::training(out, model.estimator(), &history).map_err(Into::into)
}

fn data_for_validation(db: &mut dyn Backend, select: &str) -> Result<Collected, EngineError> {
    query_all(db, select).map_err(|e| format!("validation.select failed: {e}").into())
}

fn prediction_value(p: &Prediction) -> Value {
    match p {
        Prediction::Class(ClassLabel::Int(i)) => Value::Int64(*i),
        Prediction::Class(ClassLabel::Str(s)) => Value::String(s.clone()),
        Prediction::Value(f) => Value::Double(*f),
        Prediction::Cluster(c) => Value::Int64(*c as i64),
    }
}

/// Writes `rows` into a new table `name` (replacing one), column types from the values.
fn write_table(
    db: &mut dyn Backend,
    name: &TableName,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<(), EngineError> {
    let cols: Vec<(String, ColumnType)> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), ColumnType::infer(rows.iter().map(|r| &r[i]))))
        .collect();
    db.create_table(name, &cols)?;
    Ok(db.insert_rows(name, &cols, rows)?)
}

fn predict<W: Write>(
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
    let data = data(db, select)?;
    let features = model_inputs(stored.meta.feature_columns.as_ref(), &data)?;
    let predictions = stored.model.predict(&features).map_err(model_error)?;
    // The selected columns, except one named like the predicted column, then it.
    let keep: Vec<bool> = data
        .columns
        .iter()
        .map(|c| !c.name.eq_ignore_ascii_case(&column))
        .collect();
    let mut names: Vec<String> = data
        .columns
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c.name.clone())
        .collect();
    names.push(column.clone());
    // The selected values move into the written rows: no copy of the data.
    let rows: Vec<Vec<Value>> = data
        .rows
        .into_iter()
        .zip(&predictions)
        .map(|(row, pred)| {
            let mut r: Vec<Value> = row
                .into_iter()
                .zip(&keep)
                .filter_map(|(v, k)| k.then_some(v))
                .collect();
            r.push(prediction_value(pred));
            r
        })
        .collect();
    write_table(db, &target, &names, &rows)?;
    out.message(
        format!(
            "wrote {} predictions of {} into {target}.{column}",
            rows.len(),
            stored.meta.estimator,
        ),
        Kind::Log,
    )
    .map_err(Into::into)
}

fn evaluate<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    e: &Evaluate,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let (engine, rest) = split_attrs(&e.attrs, &[])?;
    if let Some(name) = rest.keys().next() {
        return Err(format!(
            "unknown attribute {name} for TO EVALUATE; it accepts validation.metrics"
        )
        .into());
    }
    let stored = model_store::load(db, &table(&e.model)?)?;
    let data = data(db, select)?;
    let metrics = evaluate_on(
        &stored.model,
        stored.meta.feature_columns.as_ref(),
        &data,
        &e.label,
        engine.metrics.as_deref(),
    )?;
    let into = table(&e.into)?;
    let names: Vec<String> = metrics.iter().map(|(k, _)| k.clone()).collect();
    let row: Vec<Value> = metrics.iter().map(|(_, v)| Value::Double(*v)).collect();
    write_table(db, &into, &names, &[row])?;
    out.message(
        format!(
            "evaluated {} on {} rows: {}; written into {into}",
            e.model,
            data.rows.len(),
            metrics_text(&metrics)
        ),
        Kind::Log,
    )?;
    if stored.model.classes().is_some() {
        let features = model_inputs(stored.meta.feature_columns.as_ref(), &data)?;
        let label = to_model_column(&data, find(&data, &e.label)?)?;
        figures::evaluation(out, &e.model, &stored.model, &features, &label)?;
    }
    Ok(())
}

/// The explainer each kind of model supports.
fn explainer_for(estimator: &str) -> &'static str {
    let e = estimator.to_ascii_lowercase();
    if e.starts_with("xgboost") {
        "XGBoostExplainer"
    } else if e.contains("tree") || e.contains("forest") {
        "TreeExplainer"
    } else if e.starts_with("linear") {
        "LinearExplainer"
    } else {
        "PermutationExplainer"
    }
}

fn explain<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    x: &Explain,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    // summary.* shapes SQLFlow's SHAP plots; here the figure is a bar chart of the
    // importance table, which those attributes do not change.
    let (_, rest) = split_attrs(&x.attrs, &["summary."])?;
    if let Some(name) = rest.keys().next() {
        return Err(format!(
            "unknown attribute {name} for TO EXPLAIN; it accepts summary.* (accepted without effect: the figure is a bar chart of the importance)"
        ).into());
    }
    let stored = model_store::load(db, &table(&x.model)?)?;
    let fits = explainer_for(&stored.meta.estimator);
    if let Some(wanted) = &x.using {
        let tree_alias = fits == "XGBoostExplainer" && wanted.eq_ignore_ascii_case("TreeExplainer");
        if !wanted.eq_ignore_ascii_case(fits) && !tree_alias {
            return Err(format!(
                "{wanted} does not apply to a {} model; use {fits} (or leave USING out)",
                stored.meta.estimator
            )
            .into());
        }
    }
    let data = data(db, select)?;
    let features = model_inputs(stored.meta.feature_columns.as_ref(), &data)?;
    let importance = stored
        .model
        .feature_importance(&features)
        .map_err(model_error)?;
    let rows: Vec<Vec<Value>> = importance
        .iter()
        .map(|(f, v)| vec![Value::String(f.clone()), Value::Double(*v)])
        .collect();
    let names = ["feature".to_string(), "importance".to_string()];
    match &x.into {
        Some(t) => {
            let into = table(t)?;
            write_table(db, &into, &names, &rows)?;
            out.message(
                format!(
                    "explained {} with {fits}: {} features into {into}",
                    x.model,
                    rows.len()
                ),
                Kind::Log,
            )?;
        }
        None => send_table(out, &names, rows)?,
    }
    figures::importance(out, &x.model, fits, &importance).map_err(Into::into)
}

fn send_table<W: Write>(
    out: &mut RecordWriter<W>,
    names: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<(), EngineError> {
    let cols: Vec<Column> = names
        .iter()
        .map(|n| Column {
            name: n.clone(),
            decl_type: String::new(),
        })
        .collect();
    out.head(&cols)?;
    for r in rows {
        out.row(r)?;
    }
    Ok(())
}

fn show_train<W: Write>(
    db: &mut dyn Backend,
    model: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let m = model_store::load_meta(db, &table(model)?)?;
    let attrs = m
        .attributes
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    // SQLFlow's two columns first (doc/design/show_train_stmt.md), so clients written
    // for it read the statement where they expect it; the rest of the metadata follows.
    let columns = [
        ("Model", Value::String(model.to_string())),
        ("Train Statement", Value::String(m.statement.clone())),
        ("Estimator", Value::String(m.estimator.clone())),
        ("Attributes", Value::String(attrs)),
        ("Features", Value::String(m.features.join(", "))),
        (
            "Feature Columns",
            Value::String(
                m.feature_columns
                    .as_ref()
                    .map_or_else(|| m.features.join(", "), FeaturePlan::describe),
            ),
        ),
        (
            "Label",
            m.label
                .clone()
                .map_or(Value::Null(Default::default()), Value::String),
        ),
        (
            "Validation Metrics",
            Value::String(metrics_text(&m.metrics)),
        ),
        (
            "Trained Rows",
            Value::Int64(i64::try_from(m.trained_rows).unwrap_or(i64::MAX)),
        ),
        ("Engine Version", Value::String(m.engine_version.clone())),
    ];
    let (names, row): (Vec<String>, Vec<Value>) = columns
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .unzip();
    send_table(out, &names, vec![row])
}
