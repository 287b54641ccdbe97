//! Function signatures (`<s-n?:s>`): parsing, and validating/coercing call arguments as
//! jsonata-js does (context substitution for `-`, single values wrapped for `a`, T041x errors).

use crate::Error;
use crate::value::Value;

#[derive(Debug, Clone)]
struct Param {
    /// The regex fragment over type symbols.
    regex: String,
    /// The parameter's type symbol (`a`, `s`, `(sn)`, ...).
    kind: String,
    /// `-`: the context value stands in when the argument is missing.
    context: bool,
    /// The type symbols the context value may have when it stands in for the argument.
    context_symbols: Option<String>,
    /// Element type of `a<...>` (or the signature of `f<...>`).
    subtype: Option<String>,
}

/// A parsed signature.
#[derive(Debug)]
pub(crate) struct Signature {
    params: Vec<Param>,
    regex: regex::Regex,
}

fn symbol(v: &Value<'_>) -> char {
    match v {
        Value::Func(_) => 'f',
        Value::Str(_) => 's',
        Value::Num(_) => 'n',
        Value::Bool(_) => 'b',
        Value::Null => 'l',
        Value::Undefined => 'm',
        v if v.is_array() => 'a',
        _ => 'o',
    }
}

fn symbol_of_item(array: &Value<'_>, k: usize) -> char {
    symbol(&array.item(k))
}

fn closing(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 1;
    let mut pos = start;
    while pos < chars.len() {
        pos += 1;
        let Some(&c) = chars.get(pos) else { break };
        if c == close {
            depth -= 1;
            if depth == 0 {
                break;
            }
        } else if c == open {
            depth += 1;
        }
    }
    pos
}

impl Signature {
    /// Parses `<...>` signature text.
    pub fn parse(text: &str) -> Result<Signature, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut params: Vec<Param> = Vec::new();
        let mut pos = 1;
        let new_param = |regex: String, kind: String| Param {
            regex,
            kind,
            context: false,
            context_symbols: None,
            subtype: None,
        };
        while pos < chars.len() {
            let c = chars[pos];
            if c == ':' {
                break;
            }
            match c {
                's' | 'n' | 'b' | 'l' | 'o' => {
                    params.push(new_param(format!("[{c}m]"), c.to_string()))
                }
                'a' => params.push(new_param("[asnblfom]".into(), "a".into())),
                'f' => params.push(new_param("f".into(), "f".into())),
                'j' => params.push(new_param("[asnblom]".into(), "j".into())),
                'x' => params.push(new_param("[asnblfom]".into(), "x".into())),
                '-' => {
                    if let Some(p) = params.last_mut() {
                        p.context = true;
                        p.context_symbols =
                            Some(p.regex.chars().filter(char::is_ascii_lowercase).collect());
                        p.regex.push('?');
                    }
                }
                '?' | '+' => {
                    if let Some(p) = params.last_mut() {
                        p.regex.push(c);
                    }
                }
                '(' => {
                    let end = closing(&chars, pos, '(', ')');
                    let choice: String = chars[pos + 1..end.min(chars.len())].iter().collect();
                    if choice.contains('<') {
                        return Err(Error::at("S0402", pos, None).with_value(&choice));
                    }
                    params.push(new_param(format!("[{choice}m]"), format!("({choice})")));
                    pos = end;
                }
                '<' => {
                    let prev_kind = params.last().map(|p| p.kind.clone()).unwrap_or_default();
                    if prev_kind == "a" || prev_kind == "f" {
                        let end = closing(&chars, pos, '<', '>');
                        let sub: String = chars[pos + 1..end.min(chars.len())].iter().collect();
                        if let Some(p) = params.last_mut() {
                            p.subtype = Some(sub);
                        }
                        pos = end;
                    } else {
                        return Err(Error::at("S0401", pos, None).with_value(&prev_kind));
                    }
                }
                _ => {}
            }
            pos += 1;
        }
        let pattern: String = params.iter().map(|p| format!("({})", p.regex)).collect();
        let regex =
            regex::Regex::new(&format!("^{pattern}$")).map_err(|_| Error::at("S0401", 0, None))?;
        Ok(Signature { params, regex })
    }

    /// Validates `args` against the signature, returning the coerced argument list.
    pub fn validate<'a>(
        &self,
        args: Vec<Value<'a>>,
        context: &Value<'a>,
    ) -> Result<Vec<Value<'a>>, Error> {
        if self.one_to_one(&args) {
            return Ok(args);
        }
        let args = args.as_slice();
        let supplied: String = args.iter().map(symbol).collect();
        let Some(caps) = self.regex.captures(&supplied) else {
            return Err(self.validation_error(args, &supplied));
        };
        let mut out = Vec::with_capacity(self.params.len());
        let mut arg_index = 0;
        for (i, param) in self.params.iter().enumerate() {
            let matched = caps.get(i + 1).map_or("", |m| m.as_str());
            if matched.is_empty() {
                if param.context {
                    let ctx_ok = param
                        .context_symbols
                        .as_ref()
                        .is_some_and(|allowed| allowed.contains(symbol(context)));
                    if ctx_ok {
                        out.push(context.clone());
                    } else {
                        return Err(Error::new("T0411")
                            .with_index(arg_index + 1)
                            .with_value_of(context));
                    }
                } else {
                    out.push(args.get(arg_index).cloned().unwrap_or(Value::Undefined));
                    arg_index += 1;
                }
                continue;
            }
            for single in matched.chars() {
                let arg = args.get(arg_index).cloned().unwrap_or(Value::Undefined);
                if param.kind == "a" {
                    if single == 'm' {
                        out.push(Value::Undefined);
                    } else {
                        let mut ok = true;
                        if let Some(sub) = &param.subtype {
                            if single != 'a' && matched != sub.as_str() {
                                ok = false;
                            } else if single == 'a' && arg.len() > 0 {
                                let first = symbol(&arg.item(0));
                                let want = sub.chars().next().unwrap_or('x');
                                ok = first == want
                                    && (0..arg.len()).all(|k| symbol(&arg.item(k)) == first);
                            }
                        }
                        if !ok {
                            return Err(Error::new("T0412")
                                .with_index(arg_index + 1)
                                .with_value_of(&arg)
                                .with_value2(array_type(param.subtype.as_deref().unwrap_or(""))));
                        }
                        out.push(if single == 'a' {
                            arg
                        } else {
                            Value::array(vec![arg])
                        });
                    }
                } else {
                    out.push(arg);
                }
                arg_index += 1;
            }
        }
        Ok(out)
    }

    /// The common case without the regex: one argument per parameter, each of an accepted
    /// type, no optional, variadic or context parameter, arrays passed as arrays; the
    /// arguments are then passed on as they are. Otherwise the general path decides (it also
    /// reports the errors).
    fn one_to_one(&self, args: &[Value<'_>]) -> bool {
        self.one_to_one_check(args).is_some()
    }

    fn one_to_one_check(&self, args: &[Value<'_>]) -> Option<()> {
        if args.len() != self.params.len() {
            return None;
        }
        for (param, arg) in self.params.iter().zip(args) {
            let accepted = param.regex.strip_prefix('[')?.strip_suffix(']')?;
            let symbol = symbol(arg);
            if param.context || symbol == 'm' || !accepted.contains(symbol) {
                return None;
            }
            if param.kind == "a" {
                if symbol != 'a' {
                    return None;
                }
                if let Some(sub) = &param.subtype {
                    let want = sub.chars().next()?;
                    if sub.len() != 1 || !(0..arg.len()).all(|k| symbol_of_item(arg, k) == want) {
                        return None;
                    }
                }
            }
        }
        Some(())
    }

    fn validation_error(&self, args: &[Value<'_>], supplied: &str) -> Error {
        let mut partial = String::from("^");
        let mut good_to = 0;
        for param in &self.params {
            partial.push_str(&param.regex);
            match regex::Regex::new(&partial)
                .ok()
                .and_then(|r| r.find(supplied))
            {
                Some(m) => good_to = m.end(),
                None => break,
            }
        }
        let bad = args.get(good_to).cloned().unwrap_or(Value::Undefined);
        Error::new("T0410")
            .with_index(good_to + 1)
            .with_value_of(&bad)
    }
}

fn array_type(sub: &str) -> &'static str {
    match sub {
        "s" => "strings",
        "n" => "numbers",
        "b" => "booleans",
        "o" => "objects",
        "l" => "nulls",
        "a" => "arrays",
        "f" => "functions",
        _ => "values",
    }
}
