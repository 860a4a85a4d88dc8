//! fail2ban's date templates as data: the 17 default datepatterns, the strptime token table
//! (`%X` → regex and display name) and the `%ExY` year regex.
//!
//! These strings are compatibility facts (see `notes/fail2ban-date-templates.txt`); the code
//! that turns them into the 31 compiled templates lives in `pattern.rs` and `mod.rs`.

/// `DEFAULT_TEMPLATES` of fail2ban 1.0.2, in order. `EPOCH` and `TAI64N` are keywords.
pub(crate) const DEFAULT_PATTERNS: [&str; 17] = [
    r"%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?",
    r"%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S",
    r"%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?",
    r"%m/%d/%ExY:%H:%M:%S",
    r"%m-%d-%ExY %k:%M:%S(?:\.%f)?",
    r"EPOCH",
    r"{^LN-BEG}%H:%M:%S",
    r"^<%m/%d/%Exy@%H:%M:%S>",
    r"%Exy%Exm%Exd  ?%H:%M:%S",
    r"%b %d, %ExY %I:%M:%S %p",
    r"^%b-%d-%Exy %k:%M:%S",
    r"%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    r"TAI64N",
];

/// Weight fail2ban gives the `{^LN-BEG}` copies of unanchored default templates, so that they
/// win the bubble-up against the originals.
pub(crate) const ANCHORED_COPY_WEIGHT: f64 = 100.0;

/// One `%` token of a datepattern: its regex and the name fail2ban-regex prints for it.
pub(crate) struct Token {
    pub regex: std::borrow::Cow<'static, str>,
    pub name: &'static str,
}

/// Single-character tokens (`%d`, `%b`, ...): Python's `_strptime.TimeRE` with fail2ban's
/// overrides and its `%k`/`%l` additions.
fn single(c: char) -> Option<(&'static str, &'static str)> {
    Some(match c {
        '%' => ("%", "%"),
        'A' => (r"(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)", "DAYNAME"),
        'B' => (
            r"(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)",
            "MONTH",
        ),
        'G' => (r"(?P<G>\d\d\d\d)", "%G"),
        'H' => (r"(?P<H>[0-1]?\d|2[0-3])", "24hour"),
        'I' => (r"(?P<I>1[0-2]|0[1-9]|[1-9])", "12hour"),
        'M' => (r"(?P<M>[0-5]?\d)", "Minute"),
        'S' => (r"(?P<S>[0-5]?\d|6[0-1])", "Second"),
        'U' => (r"(?P<U>5[0-3]|[0-4]\d|\d)", "Yearweek"),
        'V' => (r"(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)", "%V"),
        'W' => (r"(?P<W>5[0-3]|[0-4]\d|\d)", "Yearweek"),
        'X' => (r"(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)", "%X"),
        'Y' => (r"(?P<Y>\d{4})", "Year"),
        'Z' => (r"(?P<Z>Z|[A-Z]{3,5})", "Zone name"),
        'a' => (r"(?P<a>mon|tue|wed|thu|fri|sat|sun)", "DAY"),
        'b' => (r"(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", "MON"),
        'c' => (
            r"(?P<a>mon|tue|wed|thu|fri|sat|sun)\s+(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)",
            "%c",
        ),
        'd' => (r"(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])", "Day"),
        'f' => (r"(?P<f>[0-9]{1,6})", "Microseconds"),
        'j' => {
            (r"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])", "Yearday")
        }
        'k' => (r" ?(?P<H>[0-2]?\d)", "%k"),
        'l' => (r" ?(?P<I>1?\d)", "%l"),
        'm' => (r"(?P<m>0?[1-9]|1[0-2])", "Month"),
        'p' => (r"(?P<p>am|pm)", "AMPM"),
        'u' => (r"(?P<u>[1-7])", "%u"),
        'w' => (r"(?P<w>[0-6])", "Weekday"),
        'x' => (
            r"(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)",
            "%x",
        ),
        'y' => (r"(?P<y>\d\d)", "Year2"),
        'z' => (r"(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)", "Zone offset"),
        _ => return None,
    })
}

/// fail2ban's exact `%Ex?` tokens. `%ExY` depends on the current year, see [`year_regex`].
fn extended(c: char) -> Option<(&'static str, &'static str)> {
    Some(match c {
        'Z' => (r"(?P<Z>[A-Z](?:[A-Z]{2,4})?)", "ExZone name"),
        'z' => (
            r"(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)",
            "ExZone offset",
        ),
        'd' => (r"(?P<d>[1-2]\d|0[1-9]|3[0-1])", "ExDay"),
        'm' => (r"(?P<m>0[1-9]|1[0-2])", "ExMonth"),
        'H' => (r"(?P<H>[0-1]\d|2[0-3])", "Ex24hour"),
        // fail2ban names these from a hash-ordered set: `%Exk` or `Ex%k` depending on the
        // Python process. We print the former.
        'k' => (r" ?(?P<H>[0-1]?\d|2[0-3])", "%Exk"),
        'l' => (r" ?(?P<I>1[0-2]|\d)", "%Exl"),
        'M' => (r"(?P<M>[0-5]\d)", "ExMinute"),
        'S' => (r"(?P<S>[0-5]\d|6[0-1])", "ExSecond"),
        'Y' => ("", "ExYear"),
        'y' => (r"(?P<y>\d{2})", "ExYear2"),
        _ => return None,
    })
}

/// Reads the token at the start of `s` (the text right after a `%`): returns it and how many
/// bytes it used, or `None` if `%` does not start a known token there.
pub(crate) fn token(s: &str, ex_year: &str) -> Option<(Token, usize)> {
    let mut chars = s.chars();
    let first = chars.next()?;
    if first == 'E' && s[1..].starts_with('x') {
        if let Some(c) = s[2..].chars().next() {
            if let Some((regex, name)) = extended(c) {
                let regex = if c == 'Y' {
                    std::borrow::Cow::Owned(ex_year.to_string())
                } else {
                    std::borrow::Cow::Borrowed(regex)
                };
                return Some((Token { regex, name }, 2 + c.len_utf8()));
            }
        }
    }
    let (regex, name) = single(first)?;
    Some((Token { regex: std::borrow::Cow::Borrowed(regex), name }, first.len_utf8()))
}

/// The `%ExY` regex as fail2ban computes it when it is imported: the century prefixes (first
/// three digits) of last year, of three years ahead, and of every third year from 2000 up to
/// now, folded into a compact alternation. For 2000-2027 this is `(?P<Y>20[012]\d)`.
pub(crate) fn year_regex(current_year: i32) -> String {
    let mut prefixes: Vec<String> = Vec::new();
    let mut add = |year: i32| {
        let s = year.to_string();
        let p: String = s.chars().take(3).collect();
        if !prefixes.contains(&p) {
            prefixes.push(p);
        }
    };
    add(current_year - 1);
    add(current_year + 3);
    // fail2ban's reference year is 2001 (its test clock never lies after it).
    let mut y = 2001 - 1;
    while y <= current_year {
        add(y);
        y += 3;
    }
    prefixes.sort();
    format!("(?P<Y>{}\\d)", fold_alternatives(&prefixes))
}

/// Folds equal-length strings into a regex: shared leading text is factored out (first the
/// longest prefix common to all but their last char, else a common first char); what is left
/// becomes a character class (single chars) or a non-capturing alternation.
fn fold_alternatives(items: &[String]) -> String {
    if items.len() <= 1 {
        return items.concat();
    }
    let all_share = |prefix: &str| items.iter().all(|i| i.starts_with(prefix));
    let head: &str = {
        let first = &items[0];
        let but_last = &first[..first.len() - first.chars().last().map_or(0, char::len_utf8)];
        if !but_last.is_empty()
            && items.iter().all(|i| i.len() == first.len())
            && all_share(but_last)
        {
            but_last
        } else {
            let c = first.chars().next().map_or(0, char::len_utf8);
            if c > 0 && all_share(&first[..c]) {
                &first[..c]
            } else {
                ""
            }
        }
    };
    if !head.is_empty() {
        let rest: Vec<String> = items.iter().map(|i| i[head.len()..].to_string()).collect();
        return format!("{head}{}", fold_alternatives(&rest));
    }
    if items[0].chars().count() > 1 {
        format!("(?:{})", items.join("|"))
    } else {
        format!("[{}]", items.concat())
    }
}

/// fail2ban's zone abbreviations with their fixed offsets in minutes (`TZ_ABBR_OFFS`): used
/// for `%z`/`%Z` values such as `CEST` or `PDT-0100`, and for `--timezone`.
pub(crate) const ZONE_ABBREVIATIONS: &[(i32, &[&str])] = &[
    (-12 * 60, &["Y"]),
    (-11 * 60, &["X", "NUT", "SST"]),
    (-10 * 60, &["W", "CKT", "HAST", "HST", "TAHT", "TKT"]),
    (-9 * 60, &["V", "AKST", "GAMT", "GIT", "HADT", "HNY"]),
    (-8 * 60, &["U", "AKDT", "CIST", "HAY", "HNP", "PST", "PT"]),
    (-7 * 60, &["T", "HAP", "HNR", "MST", "PDT"]),
    (-6 * 60, &["S", "CST", "EAST", "GALT", "HAR", "HNC", "MDT"]),
    (-5 * 60, &["R", "CDT", "COT", "EASST", "ECT", "EST", "ET", "HAC", "HNE", "PET"]),
    (-4 * 60, &["Q", "AST", "BOT", "CLT", "COST", "EDT", "FKT", "GYT", "HAE", "HNA", "PYT"]),
    (
        -3 * 60,
        &[
            "P", "ADT", "ART", "BRT", "CLST", "FKST", "GFT", "HAA", "PMST", "PYST", "SRT", "UYT",
            "WGT",
        ],
    ),
    (-2 * 60, &["O", "BRST", "FNT", "PMDT", "UYST", "WGST"]),
    (-60, &["N", "AZOT", "CVT", "EGT"]),
    (0, &["Z", "EGST", "GMT", "UTC", "WET", "WT"]),
    (60, &["A", "CET", "DFT", "WAT", "WEDT", "WEST"]),
    (2 * 60, &["B", "CAT", "CEDT", "CEST", "EET", "SAST", "WAST"]),
    (3 * 60, &["C", "EAT", "EEDT", "EEST", "IDT", "MSK"]),
    (4 * 60, &["D", "AMT", "AZT", "GET", "GST", "KUYT", "MSD", "MUT", "RET", "SAMT", "SCT"]),
    (
        5 * 60,
        &[
            "E", "AMST", "AQTT", "AZST", "HMT", "MAWT", "MVT", "PKT", "TFT", "TJT", "TMT", "UZT",
            "YEKT",
        ],
    ),
    (6 * 60, &["F", "ALMT", "BIOT", "BTT", "IOT", "KGT", "NOVT", "OMST", "YEKST"]),
    (7 * 60, &["G", "CXT", "DAVT", "HOVT", "ICT", "KRAT", "NOVST", "OMSST", "THA", "WIB"]),
    (
        8 * 60,
        &[
            "H", "ACT", "AWST", "BDT", "BNT", "CAST", "HKT", "IRKT", "KRAST", "MYT", "PHT", "SGT",
            "ULAT", "WITA", "WST",
        ],
    ),
    (9 * 60, &["I", "AWDT", "IRKST", "JST", "KST", "PWT", "TLT", "WDT", "WIT", "YAKT"]),
    (10 * 60, &["K", "AEST", "ChST", "PGT", "VLAT", "YAKST", "YAPT"]),
    (11 * 60, &["L", "AEDT", "LHDT", "MAGT", "NCT", "PONT", "SBT", "VLAST", "VUT"]),
    (
        12 * 60,
        &[
            "M", "ANAST", "ANAT", "FJT", "GILT", "MAGST", "MHT", "NZST", "PETST", "PETT", "TVT",
            "WFT",
        ],
    ),
    (13 * 60, &["FJST", "NZDT"]),
    (690, &["NFT"]),
    (630, &["ACDT", "LHST"]),
    (570, &["ACST"]),
    (390, &["CCT", "MMT"]),
    (345, &["NPT"]),
    (330, &["SLT"]),
    (270, &["AFT", "IRDT"]),
    (210, &["IRST"]),
    (-150, &["HAT", "NDT"]),
    (-210, &["HNT", "NST", "NT"]),
    (-270, &["HLV", "VET"]),
    (-570, &["MART", "MIT"]),
];

/// Offset in minutes of a fail2ban zone abbreviation (`CEST` → 120).
pub(crate) fn abbreviation_offset(abbr: &str) -> Option<i32> {
    ZONE_ABBREVIATIONS.iter().find(|(_, names)| names.contains(&abbr)).map(|(off, _)| *off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_regex_matches_fail2ban() {
        // Values printed by fail2ban's own `_getYearCentRE` for these years.
        for (year, expected) in [
            (2001, "200"),
            (2010, "20[01]"),
            (2019, "20[012]"),
            (2026, "20[012]"),
            (2027, "20[0123]"),
            (2035, "20[0123]"),
            (2099, "2(?:00|01|02|03|04|05|06|07|08|09|10)"),
        ] {
            assert_eq!(year_regex(year), format!(r"(?P<Y>{expected}\d)"), "year {year}");
        }
    }

    #[test]
    fn fold_alternatives_shapes() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(fold_alternatives(&v(&["202"])), "202");
        assert_eq!(fold_alternatives(&v(&["199", "200"])), "(?:199|200)");
        assert_eq!(fold_alternatives(&v(&["200", "201", "202"])), "20[012]");
    }

    #[test]
    fn tokens() {
        let (t, n) = token("ExY(", "(?P<Y>X)").unwrap();
        assert_eq!((t.regex.as_ref(), t.name, n), ("(?P<Y>X)", "ExYear", 3));
        let (t, n) = token("Exd", "").unwrap();
        assert_eq!((t.name, n), ("ExDay", 3));
        assert!(token("Ez", "").is_none(), "E alone is not a token");
        assert!(token("q", "").is_none());
        assert_eq!(abbreviation_offset("CEST"), Some(120));
        assert_eq!(abbreviation_offset("NPT"), Some(345));
        assert_eq!(abbreviation_offset("XYZ"), None);
    }
}
