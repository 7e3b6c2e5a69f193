//! The parser never panics: arbitrary bytes, and real manifests cut short or with bytes
//! replaced, always come back as a bundle or positioned diagnostics.

use proptest::prelude::*;
use smf_core::manifest;

const MANIFEST: &str = include_str!("../../manifests/demo/dhcp.xml");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let parsed = manifest::parse("fuzz.xml", &bytes);
        prop_assert!(parsed.bundle.is_some() || parsed.has_errors());
    }

    #[test]
    fn damaged_manifests_never_panic(
        cut in 0..MANIFEST.len(),
        replace_at in 0..MANIFEST.len(),
        replacement in prop::sample::select(vec![b'<', b'>', b'&', b'\'', b'"', b'/', b'=', 0xff, b'\n', b' ']),
    ) {
        let mut bytes = MANIFEST.as_bytes().to_vec();
        bytes[replace_at] = replacement;
        bytes.truncate(cut.max(1));
        let parsed = manifest::parse("damaged.xml", &bytes);
        for diagnostic in &parsed.diagnostics {
            prop_assert!(diagnostic.span.line >= 1 && diagnostic.span.column >= 1);
        }
        prop_assert!(parsed.bundle.is_some() || parsed.has_errors());
    }
}
