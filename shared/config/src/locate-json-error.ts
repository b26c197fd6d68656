/**
 * Offset of the first JSON syntax error in `text`, or -1 when it is valid JSON.
 * V8's JSON.parse names the offset of some errors and not of others (an unexpected
 * token, such as a trailing comma), and a config error without a line is hard to fix.
 */
export function locateJsonError(text: string): number {
  let at = 0;
  const fail = (): never => {
    throw new JsonSyntaxOffset(at);
  };
  const skipSpace = (): void => {
    while (at < text.length && (text[at] === " " || text[at] === "\t" || text[at] === "\n" || text[at] === "\r")) at++;
  };
  const expect = (char: string): void => {
    if (text[at] !== char) fail();
    at++;
  };
  const literal = (word: string): void => {
    if (!text.startsWith(word, at)) fail();
    at += word.length;
  };
  const string = (): void => {
    expect('"');
    while (at < text.length && text[at] !== '"') {
      const code = text.charCodeAt(at);
      if (code < 0x20) fail();
      if (text[at] === "\\") {
        at++;
        if (text[at] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) fail();
          at += 5;
        } else if (text[at] !== undefined && '"\\/bfnrt'.includes(text[at] as string)) {
          at++;
        } else {
          fail();
        }
      } else {
        at++;
      }
    }
    expect('"');
  };
  const number = (): void => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at, at + 400));
    if (!match) fail();
    at += (match as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    skipSpace();
    const char = text[at];
    if (char === "{") {
      at++;
      skipSpace();
      if (text[at] === "}") {
        at++;
        return;
      }
      for (;;) {
        skipSpace();
        string();
        skipSpace();
        expect(":");
        value();
        skipSpace();
        if (text[at] === ",") {
          at++;
          continue;
        }
        expect("}");
        return;
      }
    } else if (char === "[") {
      at++;
      skipSpace();
      if (text[at] === "]") {
        at++;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        if (text[at] === ",") {
          at++;
          continue;
        }
        expect("]");
        return;
      }
    } else if (char === '"') {
      string();
    } else if (char === "t") {
      literal("true");
    } else if (char === "f") {
      literal("false");
    } else if (char === "n") {
      literal("null");
    } else {
      number();
    }
  };
  try {
    value();
    skipSpace();
    if (at < text.length) fail();
    return -1;
  } catch (error) {
    if (error instanceof JsonSyntaxOffset) return error.offset;
    throw error;
  }
}

class JsonSyntaxOffset extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at offset ${offset}`);
  }
}
