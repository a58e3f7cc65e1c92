//! `sqlflow_sql::datasource` must read a server URL exactly as the drivers (sqlx, through
//! the `url` crate) read it: wherever it accepts a string, the host, port and query
//! parameters agree. A disagreement would let a datasource pass the server's host
//! allow-list while connecting elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use proptest::prelude::*;
use sqlflow_sql::datasource::ServerUrl;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("@".to_string()),
        Just(":".to_string()),
        Just("/".to_string()),
        Just("?".to_string()),
        Just("#".to_string()),
        Just("&".to_string()),
        Just("=".to_string()),
        Just("%".to_string()),
        Just("%2F".to_string()),
        Just("%6F".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\\".to_string()),
        Just("+".to_string()),
        Just("host".to_string()),
        Just("db.internal".to_string()),
        Just("127.0.0.1".to_string()),
        Just("::1".to_string()),
        Just("5432".to_string()),
        Just("99999".to_string()),
        "[a-z0-9.]{1,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn agrees_with_the_url_crate(
        scheme in prop_oneof![Just("postgres"), Just("mysql")],
        pieces in proptest::collection::vec(piece(), 0..12),
    ) {
        let s = format!("{scheme}://{}", pieces.concat());
        if let Ok(ours) = ServerUrl::parse(&s) {
            let theirs = url::Url::parse(&s);
            prop_assert!(theirs.is_ok(), "we accept {s:?}, url refuses it: {theirs:?}");
            let theirs = theirs.unwrap();
            prop_assert_eq!(ours.host.as_str(), theirs.host_str().unwrap_or(""), "{}", s);
            prop_assert_eq!(ours.port, theirs.port(), "{}", s);
            let pairs: Vec<(String, String)> = theirs
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(&ours.params, &pairs, "{}", s);
            prop_assert_eq!(ours.has_fragment, theirs.fragment().is_some(), "{}", s);
        }
    }
}
