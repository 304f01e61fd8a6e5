//! XML-RPC values as Koji sends them, to and from JSON values.
//!
//! Koji's structs are open-ended (`extra` holds anything), so calls decode
//! the XML-RPC value into a [`serde_json::Value`] first and then into typed
//! structs with serde, which names the field that did not fit.

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use dxr::Value as Xml;
use serde_json::{Map, Number, Value as Json};

/// An XML-RPC value as JSON: integers of either width become numbers,
/// `<nil/>` null, `dateTime.iso8601` its ISO text (Koji sends dates as
/// strings anyway) and `base64` its bytes' base64 text.
pub fn to_json(value: &Xml) -> Json {
    match value {
        Xml::Integer(it) => Json::from(*it),
        Xml::Long(it) => Json::from(*it),
        Xml::Boolean(it) => Json::Bool(*it),
        Xml::String(it) => Json::String(it.clone()),
        Xml::Double(it) => Number::from_f64(*it).map_or(Json::Null, Json::Number),
        Xml::DateTime(it) => Json::String(it.to_string()),
        Xml::Base64(bytes) => Json::String(BASE64_STANDARD.encode(bytes)),
        Xml::Struct(members) => Json::Object(
            members
                .iter()
                .map(|(key, value)| (key.clone(), to_json(value)))
                .collect::<Map<String, Json>>(),
        ),
        Xml::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        // `Nil`, and any kind a later dxr adds.
        _ => Json::Null,
    }
}

/// A JSON value as Koji's encoder writes it: integers that fit 32 bits as
/// `<int>`, larger ones as `<i8>`, null as `<nil/>`.
pub fn from_json(value: &Json) -> Xml {
    match value {
        Json::Null => Xml::Nil,
        Json::Bool(it) => Xml::Boolean(*it),
        Json::Number(number) => match number.as_i64() {
            Some(int) => match i32::try_from(int) {
                Ok(small) => Xml::Integer(small),
                Err(_) => Xml::Long(int),
            },
            None => Xml::Double(number.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(it) => Xml::String(it.clone()),
        Json::Array(items) => Xml::Array(items.iter().map(from_json).collect()),
        Json::Object(members) => Xml::Struct(
            members
                .iter()
                .map(|(key, value)| (key.clone(), from_json(value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_with_kojis_integer_widths() {
        let value = json!({
            "small": 5, "big": 5_000_000_000_i64, "neg": -3, "float": 1.5,
            "none": null, "flag": true, "text": "x<&>", "list": [1, "a", null],
            "nested": {"__starstar": true}
        });
        let xml = from_json(&value);
        let Xml::Struct(members) = &xml else {
            panic!("{xml:?}")
        };
        assert_eq!(members["small"], Xml::Integer(5));
        assert_eq!(members["big"], Xml::Long(5_000_000_000));
        assert_eq!(members["none"], Xml::Nil);
        assert_eq!(to_json(&xml), value);
        // Through the XML text and back.
        let text = xml.to_xml().unwrap();
        assert!(text.contains("<i8>5000000000</i8>"), "{text}");
        assert_eq!(to_json(&Xml::from_xml(&text).unwrap()), value);
    }
}
