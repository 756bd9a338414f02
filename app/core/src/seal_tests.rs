//! Unit tests of the vault file format and its key derivation.

use super::*;

const SECRET: [u8; 32] = [7; 32];

fn v2_key(pin: Option<&[u8]>) -> SealKey {
    let params = pin.map(|_| KdfParams::FAST_FOR_TESTS);
    SealKey::derive(
        Layout::new_v2(KeySource::Keystore, params),
        Some(&SECRET),
        pin,
    )
    .unwrap()
}

fn reopen(file: &[u8], secret: &[u8], pin: Option<&[u8]>) -> Result<Vec<u8>, VaultError> {
    let header = read_header(file)?;
    let key = SealKey::derive(header.layout, Some(secret), pin)?;
    open(&key, &header, file).map(|plain| plain.to_vec())
}

#[test]
fn pin_sealed_file_needs_both_the_secret_and_the_pin() {
    let key = v2_key(Some(b"1234"));
    let file = seal(&key, b"secret vault").unwrap();
    assert_eq!(
        reopen(&file, &SECRET, Some(b"1234")).unwrap(),
        b"secret vault"
    );
    assert!(matches!(
        reopen(&file, &SECRET, Some(b"4321")),
        Err(VaultError::WrongPin)
    ));
    assert!(matches!(
        reopen(&file, &[8; 32], Some(b"1234")),
        Err(VaultError::WrongPin)
    ));
}

#[test]
fn header_says_where_the_secret_is_and_names_the_vault() {
    let key = v2_key(None);
    let file = seal(&key, b"x").unwrap();
    let header = read_header(&file).unwrap();
    assert_eq!(header.layout, key.layout);
    assert_eq!(header.layout.pin, None);
    assert_eq!(header.layout.sealing.unwrap().0, KeySource::Keystore);
    assert_eq!(reopen(&file, &SECRET, None).unwrap(), b"x");
    assert_ne!(
        Layout::new_v2(KeySource::Keystore, None).sealing.unwrap().1,
        header.layout.sealing.unwrap().1,
        "each vault gets its own ID"
    );
}

#[test]
fn changed_header_fields_are_detected() {
    let key = v2_key(Some(b"1234"));
    let file = seal(&key, b"secret vault").unwrap();
    let mut params = file.clone();
    params[14] = 2; // t_cost 1 → 2
    let mut source = file.clone();
    source[COMMON_LEN] = KeySource::KeyFile.byte();
    let mut id = file.clone();
    id[COMMON_LEN + 1] ^= 1;
    for altered in [params, source, id] {
        let header = read_header(&altered).unwrap();
        let again = SealKey::derive(header.layout, Some(&SECRET), Some(b"1234")).unwrap();
        assert!(matches!(
            open(&again, &header, &altered),
            Err(VaultError::WrongPin)
        ));
    }
}

#[test]
fn legacy_pin_only_files_are_read() {
    let mut salt = [0u8; SALT_LEN];
    onepush_protocol::keys::fill_random(&mut salt);
    let layout = Layout {
        version: LEGACY_VERSION,
        pin: Some(KdfParams::FAST_FOR_TESTS),
        salt,
        sealing: None,
    };
    let key = SealKey::derive(layout, None, Some(b"1234")).unwrap();
    let file = seal(&key, b"old vault").unwrap();
    assert_eq!(file.len(), COMMON_LEN + b"old vault".len() + 16);
    let header = read_header(&file).unwrap();
    assert_eq!(header.layout, layout);
    let again = SealKey::derive(header.layout, None, Some(b"1234")).unwrap();
    assert_eq!(&*open(&again, &header, &file).unwrap(), b"old vault");
}

#[test]
fn hostile_parameters_are_refused_before_deriving() {
    let file = seal(&v2_key(Some(b"1234")), b"x").unwrap();
    let mut huge = file.clone();
    huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(read_header(&huge), Err(VaultError::Corrupt(_))));
    let mut no_pin_with_params = seal(&v2_key(None), b"x").unwrap();
    no_pin_with_params[10] = 1;
    assert!(matches!(
        read_header(&no_pin_with_params),
        Err(VaultError::Corrupt(_))
    ));
}

#[test]
fn other_files_are_not_taken_for_a_vault() {
    assert!(matches!(
        read_header(b"{\"format\":1}"),
        Err(VaultError::Corrupt(_))
    ));
    let mut file = seal(&v2_key(None), b"x").unwrap();
    file[8] = 7;
    assert!(matches!(
        read_header(&file),
        Err(VaultError::UnsupportedFormat(7))
    ));
    let cut = seal(&v2_key(None), b"").unwrap();
    assert!(matches!(
        read_header(&cut[..COMMON_LEN + 3]),
        Err(VaultError::Corrupt(_))
    ));
}
