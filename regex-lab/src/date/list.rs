//! The detector's template list from datepattern lines (fail2ban's `appendTemplate` and
//! `addDefaultTemplate`).
//!
//! fail2ban keeps one template cache per process, keyed by pattern text (upper-cased when it
//! has no `%`). Building the 31 default templates gives the `{^LN-BEG}` copies weight 100 —
//! and when a copy's key was already used by a datepattern line, that line's template *is*
//! the copy and gets weight 100 too (e.g. `{^LN-BEG}Epoch` followed by `{^LN-BEG}`). Weights
//! decide the bubble-up order, so this module replays the cache for one fresh process.

use std::collections::HashMap;

use super::pattern::{self, Spec};
use super::templates::{ANCHORED_COPY_WEIGHT, DEFAULT_PATTERNS};
use super::DateError;

/// fail2ban's template cache and one detector's list, for a fresh process.
struct Builder<'a> {
    ex_year: &'a str,
    /// Every template created, by identity.
    arena: Vec<Spec>,
    cache: HashMap<String, usize>,
    /// The 17 default templates (built on first use).
    originals: Option<Vec<usize>>,
    /// The 31: `{^LN-BEG}` copies first, then the originals (built on first use).
    defaults: Option<Vec<usize>>,
    /// The detector's list: (template, datepattern line it came from).
    list: Vec<(usize, String)>,
}

impl<'a> Builder<'a> {
    fn new(ex_year: &'a str) -> Self {
        Builder {
            ex_year,
            arena: Vec::new(),
            cache: HashMap::new(),
            originals: None,
            defaults: None,
            list: Vec::new(),
        }
    }

    /// `_getPatternTemplate`: the cached template for the key, or a new one.
    fn get_or_create(&mut self, pattern: &str, key: Option<&str>) -> Result<usize, DateError> {
        let key = key.map_or_else(|| pattern::key_of(pattern), str::to_string);
        let id = match self.cache.get(&key) {
            Some(&id) => id,
            None => {
                self.arena.push(pattern::template(pattern, self.ex_year)?);
                self.arena.len() - 1
            }
        };
        self.cache.insert(key, id);
        Ok(id)
    }

    /// `_getAnchoredTemplate`: the template for `wrap(template)`, found by name, then by
    /// pattern, else created from the wrapped pattern (or name, for epoch/TAI64N).
    fn wrapped(&mut self, id: usize, wrap: &dyn Fn(&str) -> String) -> Result<usize, DateError> {
        let name = wrap(&self.arena[id].name);
        if let Some(&found) = self.cache.get(&name) {
            return Ok(found);
        }
        match self.arena[id].pattern.clone() {
            Some(p) => {
                let regex = wrap(&p);
                match self.cache.get(&regex) {
                    Some(&found) => Ok(found),
                    None => self.get_or_create(&regex, None),
                }
            }
            None => self.get_or_create(&name, None),
        }
    }

    fn originals(&mut self) -> Result<Vec<usize>, DateError> {
        if self.originals.is_none() {
            let ids = DEFAULT_PATTERNS
                .iter()
                .map(|p| self.get_or_create(p, None))
                .collect::<Result<Vec<_>, _>>()?;
            self.originals = Some(ids);
        }
        Ok(self.originals.clone().unwrap_or_default())
    }

    fn defaults(&mut self) -> Result<Vec<usize>, DateError> {
        if self.defaults.is_none() {
            let mut copies = Vec::new();
            let originals = self.originals()?;
            for &id in &originals {
                let name = self.arena[id].name.clone();
                if name.starts_with("{^LN-BEG}") || name.starts_with('^') {
                    continue;
                }
                let copy = self.wrapped(id, &|s| format!("{{^LN-BEG}}{s}"))?;
                if self.arena[copy].name != name {
                    self.arena[copy].weight = ANCHORED_COPY_WEIGHT;
                    copies.push(copy);
                }
            }
            copies.extend(originals);
            self.defaults = Some(copies);
        }
        Ok(self.defaults.clone().unwrap_or_default())
    }

    /// `_appendTemplate`: a second template with the same name is an error, or skipped.
    fn append(&mut self, id: usize, line: &str, ignore_dup: bool) -> Result<(), DateError> {
        let name = &self.arena[id].name;
        if self.list.iter().any(|&(other, _)| self.arena[other].name == *name) {
            if ignore_dup {
                return Ok(());
            }
            return Err(DateError::new(format!(
                "datepattern `{line}`: there is already a template named `{name}`; remove the \
                 duplicate line"
            )));
        }
        self.list.push((id, line.to_string()));
        Ok(())
    }

    /// `appendTemplate` for one datepattern line.
    fn add_line(&mut self, line: &str) -> Result<(), DateError> {
        let key = pattern::key_of(line);
        let id = match self.cache.get(&key) {
            Some(&id) => id,
            None if key == "{^LN-BEG}" || key == "{DEFAULT}" => {
                let ignore_dup = !self.list.is_empty();
                for id in self.defaults()? {
                    if key == "{^LN-BEG}" && self.arena[id].flags & pattern::LINE_BEGIN == 0 {
                        continue;
                    }
                    self.append(id, line, ignore_dup)?;
                }
                return Ok(());
            }
            None if key.contains("{DATE}") => {
                let ignore_dup = !self.list.is_empty();
                for id in self.originals()? {
                    let wrap = |s: &str| pattern::replace_date_keyword(line, pattern::unbound(s));
                    let id = self.wrapped(id, &wrap)?;
                    self.append(id, line, ignore_dup)?;
                }
                return Ok(());
            }
            None if key == "{NONE}" => self.get_or_create("{UNB}^", Some(&key))?,
            None => self.get_or_create(line, Some(&key))?,
        };
        self.cache.insert(key, id);
        self.append(id, line, false)
    }
}

/// The templates for a filter's datepattern lines (`None`: the 31 defaults), each with the
/// line it came from (empty for the defaults).
pub(crate) fn build(
    datepattern: Option<&[String]>,
    ex_year: &str,
) -> Result<Vec<(Spec, String)>, DateError> {
    let mut b = Builder::new(ex_year);
    match datepattern {
        None => b.add_line("{DEFAULT}")?,
        Some(lines) => {
            for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
                b.add_line(line)?;
            }
        }
    }
    if b.list.is_empty() {
        return Err(DateError::new(
            "datepattern is empty; give at least one pattern, or leave datepattern unset for \
             the defaults",
        ));
    }
    let line_of = |l: &str| if datepattern.is_none() { String::new() } else { l.to_string() };
    Ok(b.list.iter().map(|(id, line)| (b.arena[*id].clone(), line_of(line))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: &str = r"(?P<Y>20[012]\d)";

    fn weights(lines: &[&str]) -> Vec<(String, f64)> {
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        build(Some(&lines), Y).unwrap().into_iter().map(|(s, _)| (s.name, s.weight)).collect()
    }

    #[test]
    fn line_template_shared_with_default_copy_gets_its_weight() {
        let w = weights(&["{^LN-BEG}Epoch", "{^LN-BEG}"]);
        assert_eq!(w[0], ("{^LN-BEG}Epoch".to_string(), 100.0));
        assert_eq!(w.len(), 17);
        let w = weights(&["{^LN-BEG}TAI64N", "{^LN-BEG}"]);
        assert_eq!(w[0], ("{^LN-BEG}TAI64N".to_string(), 100.0));
        // `^EPOCH` has another key: not shared, stays 1.
        let w = weights(&["^EPOCH", "{^LN-BEG}"]);
        assert_eq!(w[0], ("{^LN-BEG}Epoch".to_string(), 1.0));
        // Alone, without the defaults being built: 1.
        assert_eq!(weights(&["{^LN-BEG}Epoch"])[0].1, 1.0);
    }

    #[test]
    fn date_keyword_and_duplicates() {
        let w = weights(&[r"^<\d+>\d+\s+{DATE}"]);
        assert_eq!(w.len(), 17);
        assert_eq!(w[7].0, r"^<\d+>\d+\s+Epoch");
        assert!(build(Some(&["{DEFAULT}".into(), "{^LN-BEG}Epoch".into()]), Y).is_err());
        assert_eq!(weights(&["{^LN-BEG}", "{DEFAULT}"]).len(), 31);
    }
}
