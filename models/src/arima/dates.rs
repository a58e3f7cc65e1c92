//! `model.date_format`: the strptime / strftime codes SQLFlow users write (`%Y %m %d %H
//! %M %S %%`, everything else literal), read into seconds since 1970-01-01 and written
//! back. A small parser of its own: the crate takes no date library, and these codes
//! are all a daily or hourly series needs.

/// A parsed format: literal text and fields, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateFormat {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(char),
    Field(Field),
}

impl Field {
    /// The most digits strptime reads for the field.
    fn max_digits(self) -> usize {
        match self {
            Field::Year => 4,
            _ => 2,
        }
    }
}

/// Days from 1970-01-01 to the civil date (proleptic Gregorian; Howard Hinnant's
/// algorithm, exact for every year a `%Y` holds).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl DateFormat {
    /// Reads `format`; an unsupported `%` code is an error naming it.
    pub(crate) fn parse(format: &str) -> Result<DateFormat, String> {
        let mut parts = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                parts.push(Part::Literal(c));
                continue;
            }
            let field = match chars.next() {
                Some('Y') => Field::Year,
                Some('m') => Field::Month,
                Some('d') => Field::Day,
                Some('H') => Field::Hour,
                Some('M') => Field::Minute,
                Some('S') => Field::Second,
                Some('%') => {
                    parts.push(Part::Literal('%'));
                    continue;
                }
                Some(other) => {
                    return Err(format!(
                        "'%{other}' is not supported; use %Y %m %d %H %M %S, %% and literal text"
                    ));
                }
                None => return Err("it ends in a lone '%'".into()),
            };
            parts.push(Part::Field(field));
        }
        if !parts.iter().any(|p| matches!(p, Part::Field(_))) {
            return Err("it has no date fields (%Y, %m, %d, %H, %M, %S)".into());
        }
        Ok(DateFormat { parts })
    }

    /// Seconds since 1970-01-01 00:00:00 of `text`, read as strptime reads it (fields of
    /// 1 up to 2 digits, 4 for the year; a field not in the format is 1900-01-01
    /// 00:00:00's). `Err` says what did not match.
    pub(crate) fn read(&self, text: &str) -> Result<i64, String> {
        let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (1900i64, 1i64, 1i64, 0i64, 0i64, 0i64);
        let bytes = text.as_bytes();
        let mut at = 0usize;
        for part in &self.parts {
            match part {
                Part::Literal(c) => {
                    let mut buf = [0u8; 4];
                    let lit = c.encode_utf8(&mut buf).as_bytes();
                    if c.is_whitespace() {
                        // strptime: whitespace in the format matches any run of it.
                        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                            at += 1;
                        }
                        continue;
                    }
                    if bytes.get(at..at + lit.len()) != Some(lit) {
                        return Err(format!("expected '{c}' at character {}", at + 1));
                    }
                    at += lit.len();
                }
                Part::Field(f) => {
                    let start = at;
                    while at < bytes.len()
                        && at - start < f.max_digits()
                        && bytes[at].is_ascii_digit()
                    {
                        at += 1;
                    }
                    if at == start {
                        return Err(format!("expected a number at character {}", start + 1));
                    }
                    let v: i64 = text[start..at]
                        .parse()
                        .map_err(|_| format!("'{}' is not a number", &text[start..at]))?;
                    match f {
                        Field::Year => y = v,
                        Field::Month => mo = v,
                        Field::Day => d = v,
                        Field::Hour => h = v,
                        Field::Minute => mi = v,
                        Field::Second => s = v,
                    }
                }
            }
        }
        if at != bytes.len() {
            return Err(format!("unconverted text '{}' remains", &text[at..]));
        }
        if !(1..=12).contains(&mo) {
            return Err(format!("month {mo} is not in 1..12"));
        }
        if d < 1 || d > days_in_month(y, mo) {
            return Err(format!("day {d} is not in month {mo} of {y}"));
        }
        if h > 23 || mi > 59 || s > 59 {
            return Err(format!("time {h:02}:{mi:02}:{s:02} is not a time of day"));
        }
        Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
    }

    /// `seconds` (since 1970-01-01) written in the format, as strftime writes it.
    pub(crate) fn write(&self, seconds: i64) -> String {
        let days = seconds.div_euclid(86_400);
        let rest = seconds.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(c) => out.push(*c),
                Part::Field(f) => {
                    let text = match f {
                        Field::Year => format!("{y:04}"),
                        Field::Month => format!("{mo:02}"),
                        Field::Day => format!("{d:02}"),
                        Field::Hour => format!("{:02}", rest / 3600),
                        Field::Minute => format!("{:02}", rest % 3600 / 60),
                        Field::Second => format!("{:02}", rest % 60),
                    };
                    out.push_str(&text);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        let f = DateFormat::parse("%Y-%m-%d").unwrap();
        let t = f.read("2014-04-01").unwrap();
        assert_eq!(t, 1_396_310_400);
        assert_eq!(f.write(t), "2014-04-01");
        assert_eq!(f.write(t + 86_400 * 30), "2014-05-01");
        assert_eq!(f.read("2014-4-1").unwrap(), t);
        assert!(f.read("2014-02-30").is_err());
        assert!(f.read("2014-04-01x").is_err());
        assert!(f.read("April").is_err());
        let g = DateFormat::parse("%Y%m%d %H:%M:%S").unwrap();
        let u = g.read("20000229 23:59:58").unwrap();
        assert_eq!(g.write(u), "20000229 23:59:58");
        assert_eq!(
            g.write(g.read("19691231 00:00:00").unwrap()),
            "19691231 00:00:00"
        );
        assert!(DateFormat::parse("%Y-%j").is_err());
        assert!(DateFormat::parse("plain").is_err());
        for days in [-800_000i64, -1, 0, 59, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
