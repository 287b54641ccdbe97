//! Date and time: `$now`, `$millis`, `$fromMillis`, `$toMillis`.

use super::{Call, arg};
use crate::Error;
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

pub(crate) fn format_millis(_m: f64, _picture: Option<&str>, _tz: Option<&str>) -> Result<String, Error> {
    Ok(String::new())
}
pub(crate) fn parse_iso_millis(_s: &str) -> Option<f64> {
    None
}
pub(super) fn now<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(super) fn millis<'a>(c: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Num(c.ctx.now_millis))
}
pub(super) fn from_millis<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(super) fn to_millis<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(arg(&args, 0))
}
