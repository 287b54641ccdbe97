//! AWS Step Functions' extra JSONata functions, available when the environment's Step
//! Functions mode is on (AWS developer guide, "Transforming data with JSONata in Step
//! Functions"): `$partition`, `$range` (inclusive end), `$hash`, `$random` with an optional
//! seed, `$uuid` (v4) and `$parse`. `$eval` is unavailable in that mode.

use md5::Md5;
use rand::{Rng, SeedableRng};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::Error;
use crate::functions::{Call, arg};
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

/// The most items `$range` and `$partition` may produce (JSONata's own range limit).
const MAX_ITEMS: f64 = 10_000_000.0;

fn invalid(message: &str) -> Error {
    Error::new("D3137").with_message(message)
}

/// `$partition(array, size)`: consecutive chunks of `size` items; the last may be shorter.
pub(crate) fn partition<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let array = arg(&args, 0);
    if array.is_undefined() {
        return Ok(Value::Undefined);
    }
    let size = arg(&args, 1).as_num().unwrap_or(f64::NAN);
    if size.is_nan() || size < 1.0 || size.fract() != 0.0 {
        return Err(invalid(
            "$partition: the chunk size must be a positive integer",
        ));
    }
    let items = array.members();
    Ok(Value::array(
        items
            .chunks(size.min(MAX_ITEMS) as usize)
            .map(|c| Value::array(c.to_vec()))
            .collect(),
    ))
}

/// `$range(start, end, step)`: from `start` to `end` inclusive, by `step` (default 1;
/// negative steps count down).
pub(crate) fn range<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let (Some(start), Some(end)) = (arg(&args, 0).as_num(), arg(&args, 1).as_num()) else {
        return Ok(Value::Undefined);
    };
    let step = arg(&args, 2).as_num().unwrap_or(1.0);
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return Err(invalid(
            "$range: start, end and a non-zero step must be finite numbers",
        ));
    }
    let count = ((end - start) / step).floor() + 1.0;
    if count <= 0.0 {
        return Ok(Value::array(Vec::new()));
    }
    if count > MAX_ITEMS {
        return Err(Error::new("D2014").with_value(&crate::value::js_number(count)));
    }
    // A sequence: one item is that item, not a one-item array, as AWS returns it
    // ($range(1, 9, 9) is 1; recorded: localstack/localstack tests/aws/services/stepfunctions/
    // v2/intrinsic_functions/test_array_jsonata.snapshot.json, test_array_range).
    Ok(Value::seq(
        (0..count as usize)
            .map(|i| Value::Num(start + step * i as f64))
            .collect(),
    ))
}

/// `$hash(data, algorithm)`: hex digest; MD5, SHA-1, SHA-256 (default), SHA-384, SHA-512.
pub(crate) fn hash<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Str(data) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let algorithm = arg(&args, 1);
    let bytes = data.as_bytes();
    let digest = match algorithm.as_str().unwrap_or("SHA-256") {
        "MD5" => hex::encode(Md5::digest(bytes)),
        "SHA-1" => hex::encode(Sha1::digest(bytes)),
        "SHA-256" => hex::encode(Sha256::digest(bytes)),
        "SHA-384" => hex::encode(Sha384::digest(bytes)),
        "SHA-512" => hex::encode(Sha512::digest(bytes)),
        other => {
            return Err(invalid(&format!(
                "$hash: unsupported algorithm {other:?}; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            )));
        }
    };
    Ok(Value::str(&digest))
}

/// `$random()` / `$random(seed)`: a number in [0, 1); the same seed gives the same number.
pub(crate) fn random<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Num(match arg(&args, 0) {
        Value::Num(seed) => rand::rngs::StdRng::seed_from_u64(seed.to_bits()).random::<f64>(),
        _ => rand::random::<f64>(),
    }))
}

/// `$uuid()`: a random version 4 UUID.
pub(crate) fn uuid<'a>(_: &Call<'_, 'a>, _: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::str(&uuid::Uuid::new_v4().to_string()))
}

/// `$parse(json)`: the value a JSON string denotes.
pub(crate) fn parse<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Str(text) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(&format!("$parse: invalid JSON: {e}")))?;
    Ok(Value::from_owned_json(&json))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Environment, Expression};

    fn sf(expr: &str) -> Result<Option<serde_json::Value>, crate::Error> {
        let mut env = Environment::new();
        env.set_step_functions(true);
        Expression::parse(expr).unwrap().evaluate(None, &env)
    }

    #[test]
    fn partition_and_range() {
        assert_eq!(
            sf("$partition([1,2,3,4,5,6,7,8,9], 3)").unwrap(),
            Some(json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
        );
        assert_eq!(
            sf("$partition([1,2,3,4,5], 2)").unwrap(),
            Some(json!([[1, 2], [3, 4], [5]]))
        );
        assert_eq!(
            sf("$range(0, 10, 2)").unwrap(),
            Some(json!([0, 2, 4, 6, 8, 10]))
        );
        assert_eq!(sf("$range(5, 1, -2)").unwrap(), Some(json!([5, 3, 1])));
        assert_eq!(sf("$range(1, 3)").unwrap(), Some(json!([1, 2, 3])));
        assert!(sf("$range(0, 1e9, 1)").is_err());
    }

    /// AWS's recorded answers (localstack/localstack tests/aws/services/stepfunctions/v2/
    /// intrinsic_functions/test_array_jsonata.snapshot.json, test_array_range): a one-item
    /// range is the item; an end between steps stops before it.
    #[test]
    fn range_as_aws_returns_it() {
        assert_eq!(sf("$range(1, 9, 9)").unwrap(), Some(json!(1)));
        assert_eq!(sf("$range(0, 10, 3)").unwrap(), Some(json!([0, 3, 6, 9])));
        assert_eq!(sf("$range(1, 9, 2)").unwrap(), Some(json!([1, 3, 5, 7, 9])));
        assert_eq!(sf("$count($range(1, 9, 9))").unwrap(), Some(json!(1)));
    }

    /// `$randomSeeded` is no function in AWS: it fails with T1006 "Attempted to invoke a
    /// non-function" (recorded: localstack/localstack tests/aws/services/stepfunctions/v2/
    /// intrinsic_functions/test_math_operations_jsonata.snapshot.json, test_math_random_seeded);
    /// the seeded form is `$random(seed)` (AWS developer guide, "Transforming data with JSONata
    /// in Step Functions").
    #[test]
    fn random_seeded_is_not_a_function() {
        let err = sf("$randomSeeded(3)").unwrap_err();
        assert_eq!(err.to_string(), "T1006: Attempted to invoke a non-function");
        assert_eq!(sf("$random(3) = $random(3)").unwrap(), Some(json!(true)));
    }

    #[test]
    fn hash_uuid_random_parse() {
        assert_eq!(
            sf("$hash('input data', 'SHA-1')").unwrap(),
            Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        assert_eq!(
            sf("$hash('', 'MD5')").unwrap(),
            Some(json!("d41d8cd98f00b204e9800998ecf8427e"))
        );
        assert!(sf("$hash('x', 'SHA-3')").is_err());
        let u = sf("$uuid()").unwrap().unwrap();
        let u = u.as_str().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(sf("$random(42) = $random(42)").unwrap(), Some(json!(true)));
        let r = sf("$random()").unwrap().unwrap().as_f64().unwrap();
        assert!((0.0..1.0).contains(&r));
        assert_eq!(
            sf("$parse('{\"a\": [1, true]}')").unwrap(),
            Some(json!({"a": [1, true]}))
        );
        assert!(sf("$parse('{oops')").is_err());
    }

    #[test]
    fn eval_is_unavailable_and_extras_are_opt_in() {
        let err = sf("$eval('1+1')").unwrap_err();
        assert_eq!(err.code, "T1006");
        let plain = Expression::parse("$uuid()")
            .unwrap()
            .evaluate(None, &Environment::new());
        assert_eq!(plain.unwrap_err().code, "T1006");
        let std_eval = Expression::parse("$eval('1+1')")
            .unwrap()
            .evaluate(None, &Environment::new());
        assert_eq!(std_eval.unwrap(), Some(json!(2)));
    }
}
