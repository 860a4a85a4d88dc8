//! Which filter variant judges which line: fail2ban's sample-test loop as data.
//!
//! The loop's state is subtle and the plan reproduces it exactly (notes §8):
//! - `fileOptions` replaces the common options; they are merged (`dict.update`) into each
//!   variant of the *next* `filterOptions`, and carry over into files added with `addFILE`.
//! - The active variants also carry over into an added file until it names its own.
//! - A variant whose `test.condition` is false is dropped, and it sets the block's "ignore"
//!   flag; later variants without a condition keep that flag, and when the last state is
//!   "ignore" the lines of the whole block are skipped.
//! - A variant is one filter instance, named after its options (or `test.filter-name`):
//!   blocks with the same options share its state (line buffer, MLFID cache).
//! - Lines with `logtype` journal are fed pre-dated, with `test.prefix-line` prepended
//!   (cumulatively, across the variants of a line, as fail2ban does).
//! - A `constraint` that is false skips that variant for that line.

use super::{python_str, Expect, ItemKind, Options, SampleError, SampleFile};
use std::sync::Arc;

/// One filter instance of a test.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// For reports: `sshd`, `sshd[mode=aggressive]`, or name + `test.filter-name`.
    pub label: String,
    /// Filter arguments (`test.*` removed), as for `filter = NAME[k=v]`.
    pub args: Vec<(String, String)>,
    /// fail2ban's cache name (`name + str(opts)`): equal keys share one filter instance.
    key: String,
}

/// One sample line judged by one variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub variant: usize,
    /// Journal logtype: feed the line pre-dated at "now", without date detection.
    pub journal: bool,
    /// The text fed to the filter (with `test.prefix-line` for journal runs).
    pub text: String,
}

/// One sample line and the variants that judge it, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Index into [`Plan::files`].
    pub file: usize,
    /// Line number of the sample text.
    pub line: usize,
    /// Line number of its failJSON, if any (a plain line must not match).
    pub json_line: Option<usize>,
    pub expect: Arc<Expect>,
    pub runs: Vec<Run>,
}

/// Everything one sample test does, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The filter under test: the first file's name.
    pub name: String,
    /// The first file and every file added with `addFILE`, in processing order.
    pub files: Vec<String>,
    pub variants: Vec<Variant>,
    pub steps: Vec<Step>,
}

struct Active {
    variant: usize,
    opts: Options,
}

impl Plan {
    /// Builds the plan for `first`; `resolve` reads a file named by `addFILE`.
    pub fn build(
        first: SampleFile,
        mut resolve: impl FnMut(&str) -> Result<SampleFile, SampleError>,
    ) -> Result<Plan, SampleError> {
        let name = first.name.clone();
        let mut plan = Plan { name: name.clone(), files: vec![], variants: vec![], steps: vec![] };
        let mut queue = vec![first];
        let mut common = Options::default();
        let mut active: Vec<Active> = Vec::new();
        let mut i = 0;
        while i < queue.len() {
            let file =
                std::mem::replace(&mut queue[i], SampleFile { name: String::new(), items: vec![] });
            plan.files.push(file.name.clone());
            let err = |line: usize, message: String| SampleError {
                file: file.name.clone(),
                line,
                message,
            };
            let mut ignore_block = false;
            for item in file.items.iter() {
                match &item.kind {
                    ItemKind::FileOptions(o) => common = o.clone(),
                    ItemKind::FilterOptions(list) => {
                        active.clear();
                        ignore_block = false;
                        for v in list {
                            let mut opts = common.clone();
                            opts.update(v);
                            if let Some(cond) = opts.truthy_str("test.condition") {
                                let e = super::Expr::parse(cond)
                                    .map_err(|e| err(item.line, format!("test.condition: {e}")))?;
                                ignore_block = !e
                                    .eval(&name, &opts)
                                    .map_err(|e| err(item.line, format!("test.condition: {e}")))?;
                            }
                            if !ignore_block {
                                let variant = plan.variant(&name, &opts);
                                active.push(Active { variant, opts });
                            }
                        }
                    }
                    ItemKind::AddFile(f) => queue.push(resolve(f).map_err(|e| {
                        if e.line == 0 {
                            err(item.line, format!("addFILE {f:?}: {}", e.message))
                        } else {
                            e
                        }
                    })?),
                    ItemKind::Sample { json_line, expect, text } => {
                        if ignore_block {
                            continue;
                        }
                        if active.is_empty() {
                            let variant = plan.variant(&name, &Options::default());
                            active.push(Active { variant, opts: Options::default() });
                        }
                        let mut text = text.clone();
                        let mut runs = Vec::new();
                        for a in &active {
                            if let Some(c) = &expect.constraint {
                                let ok = c.eval(&name, &a.opts).map_err(|e| {
                                    err(json_line.unwrap_or(item.line), format!("constraint: {e}"))
                                })?;
                                if !ok {
                                    continue;
                                }
                            }
                            let journal =
                                a.opts.get("logtype").and_then(|v| v.as_str()) == Some("journal");
                            if journal {
                                if let Some(p) = a.opts.truthy_str("test.prefix-line") {
                                    text = format!("{p}{text}");
                                }
                            }
                            runs.push(Run { variant: a.variant, journal, text: text.clone() });
                        }
                        plan.steps.push(Step {
                            file: plan.files.len() - 1,
                            line: item.line,
                            json_line: *json_line,
                            expect: Arc::new(expect.clone()),
                            runs,
                        });
                    }
                }
            }
            i += 1;
        }
        Ok(plan)
    }

    /// The filter instance for `opts`, created on first use (fail2ban's `_readFilter` cache).
    fn variant(&mut self, name: &str, opts: &Options) -> usize {
        let flt = opts.filter_options();
        let suffix = match opts.truthy_str("test.filter-name") {
            Some(n) => format!("\0{n}"),
            None => serde_json::to_string(&flt.iter().collect::<Vec<_>>()).unwrap_or_default(),
        };
        let key = format!("{name}{suffix}");
        if let Some(i) = self.variants.iter().position(|v| v.key == key) {
            return i;
        }
        let args: Vec<(String, String)> =
            flt.iter().map(|(k, v)| (k.to_string(), python_str(v))).collect();
        let label = match opts.truthy_str("test.filter-name") {
            Some(n) => format!("{name}{n}"),
            None if args.is_empty() => name.to_string(),
            None => {
                let inner: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{name}[{}]", inner.join(", "))
            }
        };
        self.variants.push(Variant { label, args, key });
        self.variants.len() - 1
    }

    /// Number of annotated (failJSON) lines judged by at least one variant.
    pub fn samples(&self) -> usize {
        self.steps.iter().filter(|s| s.json_line.is_some() && !s.runs.is_empty()).count()
    }

    /// Number of line × variant judgements.
    pub fn judgements(&self) -> usize {
        self.steps.iter().map(|s| s.runs.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(files: &[(&str, &str)]) -> Plan {
        let parse = |n: &str| {
            let text = files.iter().find(|(f, _)| *f == n).map(|(_, t)| *t);
            match text {
                Some(t) => SampleFile::parse(n, t),
                None => {
                    Err(SampleError { file: n.into(), line: 0, message: "no such file".into() })
                }
            }
        };
        Plan::build(parse(files[0].0).unwrap(), parse).unwrap()
    }

    /// (line, [(variant label, journal, text)]) per step.
    fn runs(p: &Plan) -> Vec<(String, usize, Vec<String>)> {
        p.steps
            .iter()
            .map(|s| {
                let runs = s
                    .runs
                    .iter()
                    .map(|r| {
                        format!(
                            "{}{}:{}",
                            p.variants[r.variant].label,
                            if r.journal { "/j" } else { "" },
                            r.text
                        )
                    })
                    .collect();
                (p.files[s.file].clone(), s.line, runs)
            })
            .collect()
    }

    const J: &str = "# failJSON: {\"match\": false}";

    #[test]
    fn default_variant_and_blocks() {
        let text = format!(
            "{J}\na\n# filterOptions: [{{}}, {{\"mode\": \"aggressive\"}}]\n{J}\nb\n# filterOptions: {{\"mode\": \"aggressive\"}}\nc\n"
        );
        let p = plan(&[("sshd", &text)]);
        assert_eq!(
            p.variants.iter().map(|v| v.label.as_str()).collect::<Vec<_>>(),
            ["sshd", "sshd[mode=aggressive]"]
        );
        assert_eq!(
            runs(&p),
            vec![
                ("sshd".into(), 2, vec!["sshd:a".into()]),
                ("sshd".into(), 5, vec!["sshd:b".into(), "sshd[mode=aggressive]:b".into()]),
                ("sshd".into(), 7, vec!["sshd[mode=aggressive]:c".into()]),
            ]
        );
        // The same options in a later block reuse the same instance (shared state).
        assert_eq!(p.steps[2].runs[0].variant, p.steps[1].runs[1].variant);
        assert_eq!(p.variants[1].args, vec![("mode".to_string(), "aggressive".to_string())]);
        assert_eq!((p.samples(), p.judgements()), (2, 4));
    }

    #[test]
    fn conditions_constraints_and_added_files() {
        let main = format!(
            "# filterOptions: [{{\"test.condition\": \"name=='other'\"}}]\n{J}\nskipped\n\
             # filterOptions: [{{\"test.condition\": \"name=='y'\", \"mode\": \"ddos\"}}, {{\"mode\": \"aggressive\"}}]\nstill-skipped\n\
             # filterOptions: [{{}}, {{\"mode\": \"aggressive\"}}]\n\
             # failJSON: {{\"match\": false, \"constraint\": \"opts.get('mode') == 'aggressive'\"}}\nonly-aggr\n\
             # addFILE: \"x-journal\"\nafter-add\n"
        );
        let journal = "kept-variants\n# fileOptions: {\"logtype\": \"journal\", \"test.condition\": \"name=='x'\"}\n\
                       # filterOptions: [{\"test.prefix-line\": \"p: \"}, {\"mode\": \"aggressive\"}]\nj\n";
        let p = plan(&[("x", &main), ("x-journal", journal)]);
        assert_eq!(p.files, ["x", "x-journal"]);
        assert_eq!(
            runs(&p),
            vec![
                ("x".into(), 8, vec!["x[mode=aggressive]:only-aggr".into()]),
                ("x".into(), 10, vec!["x:after-add".into(), "x[mode=aggressive]:after-add".into()]),
                (
                    "x-journal".into(),
                    1,
                    vec!["x:kept-variants".into(), "x[mode=aggressive]:kept-variants".into()]
                ),
                (
                    "x-journal".into(),
                    4,
                    vec![
                        "x[logtype=journal]/j:p: j".into(),
                        "x[logtype=journal, mode=aggressive]/j:p: j".into()
                    ]
                ),
            ]
        );
    }

    #[test]
    fn prefix_line_accumulates_like_fail2ban() {
        let text = "# filterOptions: [{\"logtype\": \"journal\", \"test.prefix-line\": \"a \"}, {\"logtype\": \"journal\", \"mode\": \"m\", \"test.prefix-line\": \"b \"}]\nl\n";
        let p = plan(&[("f", text)]);
        let texts: Vec<_> = p.steps[0].runs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["a l", "b a l"]);
    }

    #[test]
    fn filter_name_override_and_errors() {
        let text = "# filterOptions: [{\"test.filter-name\": \"-x\", \"mode\": \"a\"}, {\"mode\": \"a\"}]\nl\n";
        let p = plan(&[("f", text)]);
        let labels: Vec<_> = p.variants.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(labels, ["f-x", "f[mode=a]"]);

        let bad = SampleFile::parse("f", "# addFILE: \"missing\"\n").unwrap();
        let e = Plan::build(bad, |_| {
            Err(SampleError { file: "missing".into(), line: 0, message: "not found".into() })
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "f:1: addFILE \"missing\": not found");

        let bad =
            SampleFile::parse("f", "# filterOptions: {\"test.condition\": \"opts['k'] == 'v'\"}\n")
                .unwrap();
        let e = Plan::build(bad, |_| unreachable!()).unwrap_err();
        assert!(e.to_string().starts_with("f:1: test.condition: KeyError"), "{e}");
    }
}
