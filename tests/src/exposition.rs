//! A strict parser of the Prometheus text exposition format (version 0.0.4), for asserting exact values.
//!
//! It keeps what a test needs to compare: families with their HELP and TYPE, and samples with their labels as a
//! sorted map, so `value("accountservice_GetAccount_count", &[("service", "duration")])` reads one number. It
//! rejects what Prometheus would reject (bad names, bad escapes, a HELP or TYPE repeated for one family, a TYPE
//! after that family's samples), so a passing parse is itself a check of the output.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One sample line: `name{label="value",...} value [timestamp]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample's metric name, suffix included (`..._count`).
    pub name: String,
    /// The labels, sorted by name.
    pub labels: BTreeMap<String, String>,
    /// The value; `NaN` and infinities included.
    pub value: f64,
    /// The optional timestamp in milliseconds.
    pub timestamp: Option<i64>,
}

impl Sample {
    /// The series identity, `name{a="x",b="y"}` with labels sorted, to compare sets of series.
    pub fn series(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(name, value)| format!("{name}={value:?}"))
            .collect();
        format!("{}{{{}}}", self.name, labels.join(","))
    }

    /// Whether every `(name, value)` pair is among the labels (other labels may exist).
    pub fn has_labels(&self, wanted: &[(&str, &str)]) -> bool {
        wanted
            .iter()
            .all(|(name, value)| self.labels.get(*name).map(String::as_str) == Some(*value))
    }
}

/// A metric family: the samples following one `# HELP` / `# TYPE` header.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// The family name as written in HELP/TYPE (or the sample name for a family without them).
    pub name: String,
    /// The HELP text, unescaped.
    pub help: Option<String>,
    /// The TYPE: counter, gauge, histogram, summary or untyped.
    pub kind: Option<String>,
    /// The samples, in exposition order.
    pub samples: Vec<Sample>,
}

/// A parsed exposition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    /// The families, in exposition order.
    pub families: Vec<Family>,
}

/// Why a text is not a valid exposition, with the 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The offending line, counting from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Suffixes under which the samples of one family appear.
const SUFFIXES: [&str; 5] = ["_sum", "_count", "_bucket", "_total", "_created"];

const TYPES: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];

impl Exposition {
    /// Parses `text`.
    ///
    /// # Errors
    /// The first line that is not valid text exposition.
    pub fn parse(text: &str) -> Result<Exposition, ParseError> {
        let mut families: Vec<Family> = Vec::new();
        let mut described: BTreeSet<String> = BTreeSet::new();
        for (index, line) in text.lines().enumerate() {
            let error = |message: String| ParseError {
                line: index + 1,
                message,
            };
            if line.trim().is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim_start();
                let (keyword, rest) = comment.split_once(' ').unwrap_or((comment, ""));
                if keyword != "HELP" && keyword != "TYPE" {
                    continue; // A plain comment.
                }
                let (name, argument) = rest.split_once(' ').unwrap_or((rest, ""));
                if !is_metric_name(name) {
                    return Err(error(format!("invalid metric name {name:?} in {keyword}")));
                }
                let family = match families.last_mut() {
                    Some(family) if family.name == name => family,
                    _ => {
                        if !described.insert(name.to_owned()) {
                            return Err(error(format!("family {name} appears twice")));
                        }
                        families.push(Family {
                            name: name.to_owned(),
                            help: None,
                            kind: None,
                            samples: Vec::new(),
                        });
                        let Some(family) = families.last_mut() else {
                            return Err(error("internal error".to_owned()));
                        };
                        family
                    }
                };
                if keyword == "HELP" {
                    if family.help.is_some() {
                        return Err(error(format!("second HELP for {name}")));
                    }
                    family.help = Some(unescape_help(argument).map_err(error)?);
                } else {
                    if family.kind.is_some() {
                        return Err(error(format!("second TYPE for {name}")));
                    }
                    if !family.samples.is_empty() {
                        return Err(error(format!("TYPE for {name} after its samples")));
                    }
                    if !TYPES.contains(&argument) {
                        return Err(error(format!("unknown TYPE {argument:?}")));
                    }
                    family.kind = Some(argument.to_owned());
                }
                continue;
            }
            let sample = parse_sample(line).map_err(error)?;
            let belongs = families
                .last()
                .is_some_and(|family| belongs_to(&sample.name, &family.name));
            if !belongs {
                if !described.insert(sample.name.clone()) {
                    return Err(error(format!(
                        "samples of {} are not together",
                        sample.name
                    )));
                }
                families.push(Family {
                    name: sample.name.clone(),
                    help: None,
                    kind: None,
                    samples: Vec::new(),
                });
            }
            if let Some(family) = families.last_mut() {
                family.samples.push(sample);
            }
        }
        Ok(Exposition { families })
    }

    /// The family called `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|family| family.name == name)
    }

    /// Every sample of every family.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.families
            .iter()
            .flat_map(|family| family.samples.iter())
    }

    /// The value of the sample called `name` whose labels are exactly `labels` (in any order).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples()
            .find(|sample| {
                sample.name == name
                    && sample.labels.len() == labels.len()
                    && sample.has_labels(labels)
            })
            .map(|sample| sample.value)
    }

    /// The value as [`Exposition::value`], or 0 when the series does not exist (yet): counters start at zero.
    pub fn value_or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// The identities of all series (see [`Sample::series`]).
    pub fn series(&self) -> BTreeSet<String> {
        self.samples().map(Sample::series).collect()
    }
}

fn belongs_to(sample: &str, family: &str) -> bool {
    sample == family
        || sample
            .strip_prefix(family)
            .is_some_and(|suffix| SUFFIXES.contains(&suffix))
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// HELP text escapes only `\\` and `\n`.
fn unescape_help(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            other => return Err(format!("invalid escape \\{other:?} in HELP")),
        }
    }
    Ok(out)
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_ascii_whitespace())
        .ok_or_else(|| format!("sample without value: {line:?}"))?;
    let (name, mut rest) = line.split_at(name_end);
    if !is_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    if !rest.starts_with([' ', '\t']) {
        return Err(format!("expected whitespace before the value of {name}"));
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("sample {name} has no value"))?;
    let value = parse_value(value)?;
    let timestamp = match fields.next() {
        Some(ts) => Some(
            ts.parse::<i64>()
                .map_err(|_| format!("invalid timestamp {ts:?}"))?,
        ),
        None => None,
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected {extra:?} after the sample"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
    })
}

/// Parses `a="x",b="y"}` (the opening brace already consumed) and returns what follows the closing brace.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let (name, after_name) = rest
            .split_once('=')
            .ok_or_else(|| format!("label without value in {rest:?}"))?;
        let name = name.trim();
        if !is_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        let mut chars = after_name
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| format!("label {name} value is not quoted"))?
            .char_indices();
        let mut value = String::new();
        let consumed = loop {
            match chars.next() {
                Some((at, '"')) => break at + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("invalid escape {other:?} in label {name}")),
                },
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated value of label {name}")),
            }
        };
        let quoted = after_name.trim_start();
        // `consumed` counts bytes after the opening quote.
        rest = quoted.get(1 + consumed..).unwrap_or_default().trim_start();
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} appears twice"));
        }
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("expected , or }} after label {name}"));
        }
    }
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            text.parse::<f64>()
                .map_err(|_| format!("invalid value {text:?}"))
        }
        _ => Err(format!("invalid value {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP accountservice_GetAccount GET /accounts/{accountId}
# TYPE accountservice_GetAccount summary
accountservice_GetAccount{service="duration",quantile="0.5"} NaN
accountservice_GetAccount_sum{service="duration"} 0.5
accountservice_GetAccount_count{service="duration"} 3
# HELP escaped A \\ back\nslash
# TYPE escaped gauge
escaped{a="q\"uote",b="back\\slash",c="new\nline",} -Inf 1700000000000
untyped_one 1e3
"#;

    #[test]
    fn parses_families_samples_and_escapes() -> Result<(), ParseError> {
        let parsed = Exposition::parse(TEXT)?;
        assert_eq!(parsed.families.len(), 3);
        let summary = parsed.family("accountservice_GetAccount");
        assert_eq!(summary.map(|f| f.samples.len()), Some(3));
        assert_eq!(
            summary.and_then(|f| f.help.as_deref()),
            Some("GET /accounts/{accountId}")
        );
        assert_eq!(
            parsed.value(
                "accountservice_GetAccount_count",
                &[("service", "duration")]
            ),
            Some(3.0)
        );
        assert!(parsed
            .value(
                "accountservice_GetAccount",
                &[("quantile", "0.5"), ("service", "duration")]
            )
            .is_some_and(f64::is_nan));
        let escaped = parsed.family("escaped");
        assert_eq!(
            escaped.and_then(|f| f.help.as_deref()),
            Some("A \\ back\nslash")
        );
        let sample = escaped.and_then(|f| f.samples.first());
        assert_eq!(sample.map(|s| s.labels["a"].as_str()), Some("q\"uote"));
        assert_eq!(sample.map(|s| s.labels["b"].as_str()), Some("back\\slash"));
        assert_eq!(sample.map(|s| s.labels["c"].as_str()), Some("new\nline"));
        assert_eq!(sample.and_then(|s| s.timestamp), Some(1_700_000_000_000));
        assert_eq!(parsed.value("untyped_one", &[]), Some(1000.0));
        assert!(parsed
            .series()
            .contains("accountservice_GetAccount_sum{service=\"duration\"}"));
        Ok(())
    }

    #[test]
    fn rejects_malformed_lines() {
        for (text, line) in [
            ("metric{a=\"x} 1\n", 1),
            ("metric{a=x} 1\n", 1),
            ("metric 1\n# TYPE metric gauge\n", 2),
            ("# TYPE m gauge\n# TYPE m gauge\n", 2),
            ("# TYPE m wrong\n", 1),
            ("9metric 1\n", 1),
            ("metric one\n", 1),
            ("metric{a=\"x\",a=\"y\"} 1\n", 1),
            ("a 1\nb 1\na 2\n", 3),
            ("metric{a=\"\\t\"} 1\n", 1),
        ] {
            assert_eq!(
                Exposition::parse(text).map_err(|e| e.line),
                Err(line),
                "{text:?}"
            );
        }
    }
}
