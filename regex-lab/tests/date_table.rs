//! Data-driven date table: every line of `testdata/date-cases.txt` (all template kinds,
//! custom datepatterns and keywords, zones, DST edges, year inference) must give the template,
//! date span and time that fail2ban 1.0.2 gave, as recorded in `testdata/date-expected.jsonl`
//! (regenerate with `tests/oracle/date_oracle.py cases testdata/date-cases.txt`).
//! Runs without fail2ban; `date_fail2ban.rs` checks the same cases live.

mod date_support;

#[test]
fn date_cases_match_recorded_fail2ban_results() {
    let text = std::fs::read_to_string(date_support::manifest_path("testdata/date-expected.jsonl"))
        .unwrap();
    let expected = date_support::parse_records(&text);
    date_support::compare(&date_support::case_runs(), &expected).check("date-cases.txt (recorded)");
}
