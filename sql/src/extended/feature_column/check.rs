use super::{
    Bucket, Category, Combiner, Cross, DType, Embedding, FeatureColumn, FieldDesc, Input,
    parse::{Arg, Located, describe_arg, function_names, usage},
    print::number_text,
};
use crate::extended::{ParseError, lexer::ExtParser};

/// Checks calls against their signatures, with the parser for positions.
pub(super) struct Checker<'p, 'a> {
    pub(super) p: &'p ExtParser<'a>,
}

impl Checker<'_, '_> {
    fn err(&self, at: usize, message: impl Into<String>) -> ParseError {
        self.p.error_at(at, message)
    }

    fn arity(
        &self,
        function: &str,
        args: &[Located],
        range: std::ops::RangeInclusive<usize>,
        at: usize,
    ) -> Result<(), ParseError> {
        if range.contains(&args.len()) {
            return Ok(());
        }
        let count = if range.start() == range.end() {
            format!("{}", range.start())
        } else {
            format!("{} to {}", range.start(), range.end())
        };
        let plural = if *range.end() == 1 { "" } else { "s" };
        Err(self.err(
            at,
            format!(
                "{function} takes {count} argument{plural}, as {}; found {}",
                usage(function),
                args.len()
            ),
        ))
    }

    /// A feature column called `name` with `args`, written at `at`.
    pub(super) fn feature_column(
        &self,
        name: &str,
        args: &[Located],
        at: usize,
    ) -> Result<FeatureColumn, ParseError> {
        let upper = name.to_ascii_uppercase();
        let f = upper.as_str();
        Ok(match f {
            "NUMERIC" => {
                self.arity(f, args, 1..=2, at)?;
                let input = self.input(f, &args[0])?;
                match (input, args.get(1)) {
                    (input, None) => FeatureColumn::Numeric(input),
                    (Input::Field(field), Some(shape)) => {
                        let mut d = FieldDesc::of(field);
                        d.shape = self.shape(f, shape)?;
                        FeatureColumn::Numeric(Input::Dense(d))
                    }
                    (_, Some(shape)) => {
                        return Err(self.err(
                            shape.at,
                            "NUMERIC(DENSE(...), SHAPE): give the shape inside DENSE or SPARSE",
                        ));
                    }
                }
            }
            "DENSE" => FeatureColumn::Dense(self.field_desc(f, args, at)?),
            "SPARSE" => FeatureColumn::Sparse(self.field_desc(f, args, at)?),
            "CATEGORY_ID" | "SEQ_CATEGORY_ID" | "CATEGORY_HASH" => {
                self.arity(f, args, 2..=3, at)?;
                let c = Category {
                    input: self.input(f, &args[0])?,
                    buckets: self.positive(f, "bucket size", &args[1])?,
                    delimiter: args.get(2).map(|d| self.delimiter(f, d)).transpose()?,
                };
                match f {
                    "CATEGORY_ID" => FeatureColumn::CategoryId(c),
                    "SEQ_CATEGORY_ID" => FeatureColumn::SeqCategoryId(c),
                    _ => FeatureColumn::CategoryHash(c),
                }
            }
            "WEIGHTED_CATEGORY" => {
                self.arity(f, args, 1..=1, at)?;
                let inner = self.categorical(f, &args[0])?;
                let weighted_form = match &inner {
                    FeatureColumn::CategoryId(c)
                    | FeatureColumn::SeqCategoryId(c)
                    | FeatureColumn::CategoryHash(c) => matches!(c.input, Input::Sparse(_)),
                    FeatureColumn::Sparse(_) => true,
                    _ => false,
                };
                if !weighted_form {
                    return Err(self.err(
                        args[0].at,
                        format!(
                            "WEIGHTED_CATEGORY needs ids with weights, as {}: the weights \
                             are the values of SPARSE's key:value pairs; found {inner}",
                            usage(f)
                        ),
                    ));
                }
                FeatureColumn::WeightedCategory(Box::new(inner))
            }
            "INDICATOR" => {
                self.arity(f, args, 1..=1, at)?;
                FeatureColumn::Indicator(Box::new(self.categorical(f, &args[0])?))
            }
            "EMBEDDING" => {
                self.arity(f, args, 2..=4, at)?;
                let combiner = match args.get(2) {
                    None => None,
                    Some(a) => Some(self.text(&a.arg).and_then(Combiner::from_name).ok_or_else(
                        || {
                            self.err(
                                a.at,
                                format!(
                                    "EMBEDDING's combiner is sum, mean or sqrtn; found {}",
                                    describe_arg(&a.arg)
                                ),
                            )
                        },
                    )?),
                };
                let initializer = match args.get(3) {
                    None => None,
                    Some(a) => Some(self.text(&a.arg).map(str::to_string).ok_or_else(|| {
                        self.err(
                            a.at,
                            format!(
                                "EMBEDDING's initializer is a name such as \
                                 truncated_normal_initializer; found {}",
                                describe_arg(&a.arg)
                            ),
                        )
                    })?),
                };
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(self.categorical(f, &args[0])?),
                    dimension: self.positive(f, "size", &args[1])?,
                    combiner,
                    initializer,
                })
            }
            "CROSS" => {
                self.arity(f, args, 2..=2, at)?;
                let Arg::List(items) = &args[0].arg else {
                    return Err(self.err(
                        args[0].at,
                        format!(
                            "CROSS takes a [list] of the columns to cross, as {}; found {}",
                            usage(f),
                            describe_arg(&args[0].arg)
                        ),
                    ));
                };
                if items.len() < 2 {
                    return Err(self.err(
                        args[0].at,
                        format!("CROSS needs at least two keys to cross, as {}", usage(f)),
                    ));
                }
                let keys = items
                    .iter()
                    .map(|k| self.cross_key(k))
                    .collect::<Result<_, _>>()?;
                FeatureColumn::Cross(Cross {
                    keys,
                    buckets: self.positive(f, "hash bucket size", &args[1])?,
                })
            }
            "BUCKET" => {
                self.arity(f, args, 2..=2, at)?;
                let input = self.input(f, &args[0])?;
                if let Input::Sparse(_) = input {
                    return Err(self.err(
                        args[0].at,
                        format!("BUCKET takes numbers, as {}; found SPARSE(...)", usage(f)),
                    ));
                }
                FeatureColumn::Bucket(Bucket {
                    input,
                    boundaries: self.boundaries(&args[1])?,
                })
            }
            _ => {
                return Err(self.err(
                    at,
                    format!(
                        "unknown feature column function {name}(...); expected {}",
                        function_names()
                    ),
                ));
            }
        })
    }

    /// A bare word or string, for names of things such as combiners and types.
    fn text<'x>(&self, a: &'x Arg) -> Option<&'x str> {
        match a {
            Arg::Word(w) | Arg::Str(w) => Some(w),
            _ => None,
        }
    }

    fn column(&self, function: &str, a: &Located) -> Result<String, ParseError> {
        match &a.arg {
            Arg::Word(w) | Arg::Quoted(w) | Arg::Str(w) => Ok(w.clone()),
            other => Err(self.err(
                a.at,
                format!(
                    "{function} expects a column name here, as {}; found {}",
                    usage(function),
                    describe_arg(other)
                ),
            )),
        }
    }

    /// A column, `DENSE(...)`, `SPARSE(...)` or `NUMERIC(...)` around one of those.
    fn input(&self, function: &str, a: &Located) -> Result<Input, ParseError> {
        if let Arg::Call { name, args } = &a.arg {
            let inner = self.feature_column(name, args, a.at)?;
            return match inner {
                FeatureColumn::Dense(d) => Ok(Input::Dense(d)),
                FeatureColumn::Sparse(d) => Ok(Input::Sparse(d)),
                FeatureColumn::Numeric(i) => Ok(i),
                other => Err(self.err(
                    a.at,
                    format!(
                        "{function} reads a column, DENSE(...) or SPARSE(...), as {}; found {other}",
                        usage(function)
                    ),
                )),
            };
        }
        Ok(Input::Field(self.column(function, a)?))
    }

    /// The source of INDICATOR, EMBEDDING or WEIGHTED_CATEGORY: something with ids.
    fn categorical(&self, function: &str, a: &Located) -> Result<FeatureColumn, ParseError> {
        let Arg::Call { name, args } = &a.arg else {
            return Ok(FeatureColumn::Field(self.column(function, a)?));
        };
        let inner = self.feature_column(name, args, a.at)?;
        match inner {
            FeatureColumn::Dense(_)
            | FeatureColumn::Sparse(_)
            | FeatureColumn::CategoryId(_)
            | FeatureColumn::SeqCategoryId(_)
            | FeatureColumn::CategoryHash(_)
            | FeatureColumn::WeightedCategory(_)
            | FeatureColumn::Cross(_)
            | FeatureColumn::Bucket(_) => Ok(inner),
            other => Err(self.err(
                a.at,
                format!(
                    "{function} needs a categorical column, as {}; {} is not one",
                    usage(function),
                    other.function().unwrap_or("a column")
                ),
            )),
        }
    }

    fn cross_key(&self, a: &Located) -> Result<FeatureColumn, ParseError> {
        let Arg::Call { name, args } = &a.arg else {
            return Ok(FeatureColumn::Field(self.column("CROSS", a)?));
        };
        let key = self.feature_column(name, args, a.at)?;
        match key {
            FeatureColumn::Numeric(_)
            | FeatureColumn::Dense(_)
            | FeatureColumn::CategoryId(_)
            | FeatureColumn::SeqCategoryId(_)
            | FeatureColumn::CategoryHash(_)
            | FeatureColumn::Bucket(_) => Ok(key),
            other => Err(self.err(
                a.at,
                format!(
                    "CROSS keys are columns, NUMERIC, DENSE, BUCKET, CATEGORY_ID, \
                     SEQ_CATEGORY_ID or CATEGORY_HASH; {} cannot be crossed",
                    other.function().unwrap_or("this")
                ),
            )),
        }
    }

    fn positive(&self, function: &str, what: &str, a: &Located) -> Result<u64, ParseError> {
        match a.arg {
            Arg::Int(i) if i > 0 => Ok(i.unsigned_abs()),
            ref other => Err(self.err(
                a.at,
                format!(
                    "{function}'s {what} must be a positive whole number, as {}; found {}",
                    usage(function),
                    describe_arg(other)
                ),
            )),
        }
    }

    fn shape(&self, function: &str, a: &Located) -> Result<Option<Vec<u64>>, ParseError> {
        let bad = |what: &Arg| {
            self.err(
                a.at,
                format!(
                    "{function}'s shape is a positive number, a [list] of them or none; found {}",
                    describe_arg(what)
                ),
            )
        };
        match &a.arg {
            Arg::Int(i) if *i > 0 => Ok(Some(vec![i.unsigned_abs()])),
            Arg::Word(w) if w.eq_ignore_ascii_case("none") => Ok(None),
            Arg::List(items) if !items.is_empty() => items
                .iter()
                .map(|x| match x.arg {
                    Arg::Int(i) if i > 0 => Ok(i.unsigned_abs()),
                    ref other => Err(bad(other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            other => Err(bad(other)),
        }
    }

    fn delimiter(&self, function: &str, a: &Located) -> Result<String, ParseError> {
        match &a.arg {
            Arg::Str(s) if !s.is_empty() => Ok(s.clone()),
            // SQLFlow's older programs name the comma.
            Arg::Word(w) if w.eq_ignore_ascii_case("COMMA") => Ok(",".into()),
            other => Err(self.err(
                a.at,
                format!(
                    "{function}'s delimiter is a non-empty string such as \",\" (or COMMA); found {}",
                    describe_arg(other)
                ),
            )),
        }
    }

    fn dtype(&self, function: &str, a: &Located) -> Result<DType, ParseError> {
        self.text(&a.arg).and_then(DType::from_name).ok_or_else(|| {
            self.err(
                a.at,
                format!(
                    "{function}'s data type is int, float or string; found {}",
                    describe_arg(&a.arg)
                ),
            )
        })
    }

    fn field_desc(
        &self,
        function: &str,
        args: &[Located],
        at: usize,
    ) -> Result<FieldDesc, ParseError> {
        let max = if function == "SPARSE" { 6 } else { 4 };
        self.arity(function, args, 1..=max, at)?;
        let mut d = FieldDesc::of(self.column(function, &args[0])?);
        if let Some(a) = args.get(1) {
            d.shape = self.shape(function, a)?;
        }
        if let Some(a) = args.get(2) {
            d.delimiter = Some(self.delimiter(function, a)?);
        }
        if let Some(a) = args.get(3) {
            d.dtype = Some(self.dtype(function, a)?);
        }
        if let Some(a) = args.get(4) {
            d.delimiter_kv = Some(self.delimiter(function, a)?);
            if d.dtype != Some(DType::Int) {
                return Err(self.err(
                    args[3].at,
                    "SPARSE with key:value pairs needs int keys: DTYPE must be int when \
                     DELIMITER_KV is given",
                ));
            }
        }
        if let Some(a) = args.get(5) {
            let t = self.dtype(function, a)?;
            if t != DType::Float {
                return Err(self.err(a.at, "SPARSE's weights (DTYPE_WEIGHT) are float"));
            }
            d.dtype_weight = Some(t);
        }
        Ok(d)
    }

    fn boundaries(&self, a: &Located) -> Result<Vec<f64>, ParseError> {
        let Arg::List(items) = &a.arg else {
            return Err(self.err(
                a.at,
                format!(
                    "BUCKET's boundaries are a [list] of numbers such as [0, 10, 100]; found {}",
                    describe_arg(&a.arg)
                ),
            ));
        };
        if items.is_empty() {
            return Err(self.err(a.at, "BUCKET needs at least one boundary"));
        }
        let mut out: Vec<f64> = Vec::with_capacity(items.len());
        for x in items {
            let v = match x.arg {
                Arg::Int(i) => i as f64,
                Arg::Float(f) if f.is_finite() => f,
                ref other => {
                    return Err(self.err(
                        x.at,
                        format!(
                            "BUCKET's boundaries are numbers; found {}",
                            describe_arg(other)
                        ),
                    ));
                }
            };
            if let Some(&prev) = out.last()
                && v <= prev
            {
                return Err(self.err(
                    x.at,
                    format!(
                        "BUCKET's boundaries must be strictly ascending; {} follows {}",
                        number_text(v),
                        number_text(prev)
                    ),
                ));
            }
            out.push(v);
        }
        Ok(out)
    }
}
