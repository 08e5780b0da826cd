/**
 * The WAF's rules: ours, modelled on the OWASP Core Rule Set's categories, paranoia levels and
 * severities (not a port of its rules). Ids follow CRS's numbering ranges per category (920 protocol
 * enforcement, 921 protocol attack, 930 local file inclusion / traversal, 932 remote command
 * execution, 941 XSS, 942 SQL injection), so a CRS user knows where a rule belongs; the numbers
 * themselves are ours. Every pattern is linear-time: no unbounded quantifier next to another
 * that can match the same characters (every repetition is bounded), checked by `recheck` in
 * rules.test.ts. The `text`, `sql`, `cmd` and `path` forms hold single spaces only (whitespace is
 * compressed), so a pattern on them matches an optional space with ` ?`, not `\s*`. Patterns run on the transformed value (lower-case, see transforms.ts), so they
 * are written in lower case and need no `i` flag.
 */

export const CATEGORIES = ['sqli', 'xss', 'lfi', 'rce', 'protocol'] as const;
export type Category = (typeof CATEGORIES)[number];

/** CRS's anomaly scores per severity (crs-setup.conf: critical 5, error 4, warning 3, notice 2). */
export const SEVERITY_SCORE = { critical: 5, error: 4, warning: 3, notice: 2 } as const;
export type Severity = keyof typeof SEVERITY_SCORE;

/**
 * Which form of a value a pattern runs on (transforms.ts): `text` (URL-decoded up to twice,
 * HTML entities decoded, lower-case, whitespace compressed), `sql` (`text` with SQL comments
 * removed), `cmd` (`text` with shell escapes and quotes removed, CRS's cmdLine), `path`
 * (`text` with backslashes as slashes), `raw` (lower-case, not decoded).
 */
export type Transform = 'text' | 'sql' | 'cmd' | 'path' | 'raw';

export interface PatternRule {
  readonly id: number;
  readonly category: Category;
  readonly paranoia: 1 | 2 | 3 | 4;
  readonly severity: Severity;
  readonly description: string;
  readonly transform: Transform;
  readonly pattern: string;
}

/** Protocol checks done in code (plugin.ts), each with its id, level and severity. */
export interface CheckRule {
  readonly id: number;
  readonly category: 'protocol';
  readonly paranoia: 1 | 2 | 3 | 4;
  readonly severity: Severity;
  readonly description: string;
}

const r = String.raw;

/** Shell commands an injection runs first (words common in English prose are at PL2). */
const COMMANDS = r`(?:cat|ls|whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|csh|dash|python[23]?|perl|php|ruby|lua|nslookup|ping|telnet|tftp|ftp|rm|chmod|chown|ifconfig|netstat|echo|printenv|base64|socat|busybox|awk|mkfifo|crontab|sudo|passwd|systeminfo|tasklist|certutil|powershell|cmd|xterm|nmap)`;
/**
 * Commands that are also words once quotes are removed (`I'd` becomes `id` in the cmd form): they
 * count only when nothing but an option, a path or a shell meta-character follows.
 */
const COMMANDS_WORDS = r`(?:id|dir|type|net|env|wc|ver|set)`;
const COMMANDS_PROSE = r`(?:find|more|less|head|tail|touch|kill|sleep|sort|grep|ps|ip|su|reg|test|time|date|exec|eval|export|unset|read|who|w|id|dir|type|net|env|wc|ver|set)`;
const EVENTS = r`(?:error|load|click|dblclick|auxclick|mouse[a-z]{2,10}|focus[a-z]{0,3}|blur|change|submit|key[a-z]{2,5}|toggle|animation[a-z]{3,10}|transition[a-z]{3,10}|pointer[a-z]{2,10}|begin|end|input|drag[a-z]{0,5}|drop|wheel|scroll|unload|beforeunload|resize|select|play|playing|pause|contextmenu|copy|paste|cut|hashchange|message|pageshow|popstate|search|show|start|finish|invalid|reset|abort|loadstart|loadend|canplay|durationchange|timeupdate)`;

export const PATTERN_RULES: readonly PatternRule[] = [
  // --- SQL injection (942) -------------------------------------------------------------------
  {
    id: 942100,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'UNION SELECT',
    pattern: r`\bunion(?:\s{1,8}(?:all|distinct))?[\s(]{1,8}select\b`,
  },
  {
    id: 942110,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'Tautology after a closing quote (\' or 1=1, " or "a"="a)',
    pattern: r`['"\x60)] ?(?:(?:or|and|xor)\b|\|\||&&) ?\(? ?['"\x60]?[\w.@-]{0,40}['"\x60]?\)? ?(?:=|<>|!=|<=?|>=?|\blike\b|\bis\b|\bin\b|\bbetween\b|\bregexp\b|\brlike\b)`,
  },
  {
    id: 942120,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'Numeric tautology (1 or 1=1, and 2>1)',
    pattern: r`\b(?:or|and|xor)\s{1,8}\(?\s{0,4}['"]?\d{1,10}['"]?\s{0,8}(?:=|<>|!=|<=?|>=?)\s{0,8}['"]?\d{1,10}\b`,
  },
  {
    id: 942130,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: "Quote followed by a SQL comment (admin'--, '#)",
    pattern: r`['"\x60)]\s{0,8}(?:--|#)(?:\s|$)`,
  },
  {
    id: 942140,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'Stacked query: a statement after ;',
    pattern: r`;\s{0,8}(?:drop|truncate|alter|create|delete|insert|update|select|shutdown|exec(?:ute)?|declare|grant|revoke|rename|replace|merge|call|set\s{1,8}@)\b`,
  },
  {
    id: 942150,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'Time-based, file and error-based SQL functions',
    pattern: r`\b(?:sleep|benchmark|pg_sleep|load_file|extractvalue|updatexml|dbms_pipe\.receive_message|utl_inaddr\.get_host_address|utl_http\.request|randomblob|sys_eval|sys_exec|group_concat|concat_ws|char|chr|ascii|substring|substr|mid|ord|hex|unhex|version|database|user|current_user|system_user|schema|convert|cast)\s{0,4}\(\s{0,4}(?:['"@\d(]|select\b|version\b|database\b|user\b|0x)`,
  },
  {
    id: 942160,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'Database catalogue and dangerous procedures',
    pattern: r`\b(?:information_schema|mysql\.(?:user|db)|pg_(?:catalog|shadow|user|tables)|sysobjects|syscolumns|sys\.(?:objects|tables|columns|databases)|sqlite_master|msysaccessobjects|all_tables|user_tables|xp_cmdshell|sp_executesql|sp_oacreate|sp_configure|openrowset|opendatasource)\b`,
  },
  {
    id: 942170,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'WAITFOR DELAY, INTO OUTFILE, DROP TABLE',
    pattern: r`\bwaitfor\s{1,8}(?:delay|time)\b|\binto\s{1,8}(?:out|dump)file\b|\b(?:drop|truncate)\s{1,8}(?:table|database|schema)\b`,
  },
  {
    id: 942180,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: "Boolean or subquery after a quote or parenthesis (' and (select …, ' order by)",
    pattern: r`['"\x60)]\s{0,8}(?:(?:and|or|having|where)\s{1,8}\(?\s{0,8}(?:select|exists|not\s{1,8}exists)\b|(?:order|group)\s{1,8}by\b|union\b|limit\s{1,8}\d|procedure\s{1,8}analyse)`,
  },
  {
    id: 942190,
    category: 'sqli',
    paranoia: 1,
    severity: 'critical',
    transform: 'sql',
    description: 'SELECT … FROM with a SQL shape (select * from, select x from y where)',
    pattern: r`\bselect\s{1,8}(?:\*|top\s{1,4}\d|distinct\b|[\w.,@'"\x60() ]{1,60}\s{1,8}from\s{1,8}[\w.\x60"\[\]]{1,60}\s{0,8}(?:where|limit|order|group|union|$|;|--|#))`,
  },
  {
    id: 942200,
    category: 'sqli',
    paranoia: 2,
    severity: 'critical',
    transform: 'sql',
    description: 'SELECT … FROM with up to three words between',
    pattern: r`\bselect (?:[\w.,*'"\x60()@]{1,40} ){1,3}?from\b`,
  },
  {
    id: 942210,
    category: 'sqli',
    paranoia: 2,
    severity: 'critical',
    transform: 'sql',
    description: 'Quote followed by a SQL keyword',
    pattern: r`['"\x60]\s{0,8}(?:or|and|xor|union|select|having|where|order|group|like|rlike|regexp|div)\b`,
  },
  {
    id: 942220,
    category: 'sqli',
    paranoia: 2,
    severity: 'warning',
    transform: 'sql',
    description: 'SQL comment sequence or hex literal',
    pattern: r`/\*|\*/|\b0x[0-9a-f]{8,}\b|--\s{0,4}$`,
  },
  {
    id: 942230,
    category: 'sqli',
    paranoia: 3,
    severity: 'warning',
    transform: 'sql',
    description: 'Comparison with a WHERE / HAVING / CASE',
    pattern: r`\b(?:having|where|case when) ?\(? ?[\w.'"\x60]{1,40} ?\)? ?(?:=|<|>|\blike\b)`,
  },
  {
    id: 942240,
    category: 'sqli',
    paranoia: 3,
    severity: 'notice',
    transform: 'raw',
    description: 'Two or more SQL meta-characters in a row',
    pattern: r`['"\x60;]{2}|\)\s{0,4};`,
  },
  {
    id: 942250,
    category: 'sqli',
    paranoia: 4,
    severity: 'notice',
    transform: 'raw',
    description: 'Any SQL meta-character',
    pattern: r`['"\x60;]`,
  },

  // --- XSS (941) ------------------------------------------------------------------------------
  {
    id: 941100,
    category: 'xss',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: '<script> tag',
    pattern: r`<\s{0,4}/?\s{0,4}script\b`,
  },
  {
    id: 941110,
    category: 'xss',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Event handler inside a tag (<img onerror=…)',
    pattern: r`<[a-z][\w:-]{0,30}[\s/][^<>]{0,200}?\bon[a-z]{3,30}\s{0,8}=`,
  },
  {
    id: 941120,
    category: 'xss',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Event handler after a closing quote (" onmouseover=…)',
    pattern: `['"\\x60][\\s/]{0,8}on${EVENTS}\\s{0,8}=`,
  },
  {
    id: 941130,
    category: 'xss',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'javascript:, vbscript:, livescript: or data:text/html URI',
    pattern: r`\b(?:java|vb|live|ecma)script\s{0,8}:|\bdata\s{0,4}:\s{0,4}(?:text/html|image/svg\+xml|application/(?:x-)?javascript)`,
  },
  {
    id: 941140,
    category: 'xss',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Active content tags (<iframe, <object, <embed, <svg, <base, <meta, <math …)',
    pattern: r`<\s{0,4}(?:iframe|object|embed|applet|frameset|frame|base|meta|svg|math|isindex|marquee|xss|blink|bgsound|layer|ilayer|import|xml|animate|set|handler|listener)\b`,
  },
  {
    id: 941150,
    category: 'xss',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'DOM sinks and script gadgets (document.cookie, .innerhtml, fromcharcode, expression( …)',
    pattern: r`\bdocument\s{0,4}\.\s{0,4}(?:cookie|domain|write|location)\b|\bwindow\s{0,4}\.\s{0,4}(?:location|open)\b|\.\s{0,4}(?:inner|outer)html\b|\bfromcharcode\b|\bexpression\s{0,4}\(|-moz-binding|\bsrcdoc\s{0,4}=`,
  },
  {
    id: 941160,
    category: 'xss',
    paranoia: 2,
    severity: 'critical',
    transform: 'text',
    description: 'Other HTML tags that load or style content (<img, <style, <link, <form, <body …)',
    pattern: r`<\s{0,4}(?:img|image|style|link|form|body|input|textarea|button|video|audio|source|details|template|portal|a\s{1,8}href|table\s{1,8}background|div\s{1,8}style)\b`,
  },
  {
    id: 941170,
    category: 'xss',
    paranoia: 2,
    severity: 'error',
    transform: 'text',
    description: 'Script function call (alert(, eval(, …)',
    pattern: r`\b(?:alert|prompt|confirm|eval|settimeout|setinterval|atob|constructor)\s{0,4}(?:\(|\x60)`,
  },
  {
    id: 941180,
    category: 'xss',
    paranoia: 3,
    severity: 'warning',
    transform: 'text',
    description: 'Any HTML tag',
    pattern: r`<[a-z!/?][^<>]{0,200}>`,
  },
  {
    id: 941190,
    category: 'xss',
    paranoia: 4,
    severity: 'notice',
    transform: 'text',
    description: 'Any angle bracket',
    pattern: r`[<>]`,
  },

  // --- Local file inclusion / path traversal (930) --------------------------------------------
  {
    id: 930100,
    category: 'lfi',
    paranoia: 1,
    severity: 'critical',
    transform: 'path',
    description: 'Path traversal (../, ..\\, ..;/)',
    pattern: r`(?:^|[/;])\.{2,3}(?:[/;]|$)`,
  },
  {
    id: 930110,
    category: 'lfi',
    paranoia: 1,
    severity: 'critical',
    transform: 'raw',
    description: 'Encoded traversal that decoding would hide (overlong UTF-8, %u, double encoding)',
    pattern: r`%c0%a[ef]|%c1%9c|%e0%80%ae|%u(?:ff0e|2215|2216|002e|002f|005c)|%25(?:2e|2f|5c)|\.%(?:2e|00)|%2e%2e`,
  },
  {
    id: 930120,
    category: 'lfi',
    paranoia: 1,
    severity: 'critical',
    transform: 'path',
    description: 'Access to well-known OS and application files',
    pattern: r`(?:^|/)(?:etc/(?:passwd|shadow|group|hosts|issue|motd|sudoers|crontab|fstab|hostname|resolv\.conf|security/)|proc/(?:self|\d{1,6})/|sys/(?:class|kernel)/|var/log/|windows/(?:win\.ini|system\.ini|system32)|winnt/|boot\.ini|inetpub/|\.ssh/|\.aws/|\.kube/|\.docker/|\.bash_history|\.htaccess|\.htpasswd|\.git/|\.svn/|\.hg/|\.env\b|web\.config|wp-config\.php|id_rsa|authorized_keys)`,
  },
  {
    id: 930130,
    category: 'lfi',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'File and wrapper schemes (file://, php://, phar://, expect://, zip://, jar:)',
    pattern: r`\b(?:file|php|phar|expect|zip|glob|data|gopher|dict|ldap|jar|netdoc|compress\.zlib|ogg|rar|ssh2\.\w{1,10})://`,
  },
  {
    id: 930140,
    category: 'lfi',
    paranoia: 2,
    severity: 'warning',
    transform: 'path',
    description: 'Absolute path to a system directory',
    pattern: r`(?:^|[\s=:'"])/(?:etc|proc|sys|var|root|home|tmp|dev|bin|usr|opt|boot)/`,
  },
  {
    id: 930150,
    category: 'lfi',
    paranoia: 3,
    severity: 'notice',
    transform: 'path',
    description: 'A dot-dot segment anywhere',
    pattern: r`\.\.`,
  },

  // --- Remote command execution (932) ---------------------------------------------------------
  {
    id: 932100,
    category: 'rce',
    paranoia: 1,
    severity: 'critical',
    transform: 'cmd',
    description: 'Command chained after ;, |, &, newline or $( ',
    pattern: `(?:[;|&\\n]|\\$\\() ?(?:/(?:usr/)?(?:local/)?s?bin/)?(?:${COMMANDS}(?: |$|[;|&<>)])|${COMMANDS_WORDS}(?:$|[;|&<>)]| -| /))`,
  },
  {
    id: 932110,
    category: 'rce',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Shell and interpreter paths, reverse-shell devices',
    pattern: r`/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|c|da|tc)?sh\b|/bin/(?:busybox|nc|cat|ls|id|rm|echo)\b|/dev/(?:tcp|udp)/|\bnc(?:at)?\s{1,8}-[a-z]{0,4}e\b|\bmkfifo\s{1,8}/|\b(?:bash|sh)\s{1,8}-[ci]\b`,
  },
  {
    id: 932120,
    category: 'rce',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Windows command shells (cmd /c, powershell -enc …)',
    pattern: r`\bcmd(?:\.exe)?\s{0,8}/[ck]\b|\bpowershell(?:\.exe)?\s{1,8}[-/]|\b(?:iex|invoke-expression|invoke-webrequest|downloadstring|new-object\s{1,8}net\.webclient)\b|\bcertutil(?:\.exe)?\s{1,8}-|\bbitsadmin\b`,
  },
  {
    id: 932130,
    category: 'rce',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Shellshock function definition',
    pattern: r`\(\s{0,4}\)\s{0,4}\{`,
  },
  {
    id: 932140,
    category: 'rce',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'Shell variable tricks and command substitution (${ifs}, $(…), `…` with a command)',
    pattern: `\\$\\{?ifs\\b|\\$\\{(?:path|home|shell|pwd|user)[:}]|\\$\\(\\s{0,8}${COMMANDS}\\b|\\x60\\s{0,8}(?:${COMMANDS}|${COMMANDS_WORDS})(?:\\s{1,8}[^\\x60]{0,60})?\\x60`,
  },
  {
    id: 932150,
    category: 'rce',
    paranoia: 2,
    severity: 'critical',
    transform: 'cmd',
    description: 'Common-word commands chained after ;, | or &',
    pattern: `(?:[;|&\\n]|\\$\\()\\s{0,8}${COMMANDS_PROSE}(?:\\s|$|[;|&<>)])`,
  },
  {
    id: 932160,
    category: 'rce',
    paranoia: 2,
    severity: 'error',
    transform: 'text',
    description: 'Command substitution or backquoted word',
    pattern: r`\$\([^)$]{1,100}\)|\x60[a-z][\w -]{0,40}\x60`,
  },
  {
    id: 932170,
    category: 'rce',
    paranoia: 3,
    severity: 'warning',
    transform: 'raw',
    description: 'Shell meta-character followed by a word',
    pattern: r`[;|\x60]\s{0,4}[a-z]{2,}`,
  },
  {
    id: 932180,
    category: 'rce',
    paranoia: 4,
    severity: 'notice',
    transform: 'raw',
    description: 'Any shell meta-character',
    pattern: r`[;|\x60$]`,
  },

  // --- Protocol attack (921) ------------------------------------------------------------------
  {
    id: 921110,
    category: 'protocol',
    paranoia: 1,
    severity: 'critical',
    transform: 'text',
    description: 'HTTP request smuggling: a request line inside a value',
    pattern: r`(?:get|post|put|delete|head|options|patch|connect|trace)\s{1,8}[^\s]{1,200}\s{1,8}http/\d`,
  },
  {
    id: 921120,
    category: 'protocol',
    paranoia: 1,
    severity: 'critical',
    transform: 'raw',
    description: 'HTTP response splitting / header injection (CR or LF then a header)',
    pattern: r`(?:%0d|%0a|\r|\n)(?:%0d|%0a|\r|\n){0,2}[a-z-]{2,40}\s{0,4}:`,
  },
];

/** The protocol checks that are code, not patterns (plugin.ts runs them). */
export const CHECK_RULES = {
  nullByte: {
    id: 920270,
    category: 'protocol',
    paranoia: 1,
    severity: 'critical',
    description: 'NUL byte in the path, an argument or a header',
  },
  badEncoding: {
    id: 920220,
    category: 'protocol',
    paranoia: 1,
    severity: 'warning',
    description: 'Invalid URL encoding (% not followed by two hex digits) in the path or query',
  },
  lengthAndChunked: {
    id: 920180,
    category: 'protocol',
    paranoia: 1,
    severity: 'critical',
    description: 'Both Content-Length and Transfer-Encoding (request smuggling)',
  },
  method: {
    id: 911100,
    category: 'protocol',
    paranoia: 1,
    severity: 'critical',
    description: 'Method other than GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
  },
  badJson: {
    id: 920170,
    category: 'protocol',
    paranoia: 1,
    severity: 'error',
    description: 'JSON body that does not parse (it would bypass argument inspection)',
  },
  controlChars: {
    id: 920271,
    category: 'protocol',
    paranoia: 2,
    severity: 'critical',
    description: 'Control character (other than tab, CR, LF) in the path, an argument or a header',
  },
  noUserAgent: {
    id: 920320,
    category: 'protocol',
    paranoia: 2,
    severity: 'notice',
    description: 'No User-Agent header',
  },
  noAccept: {
    id: 920300,
    category: 'protocol',
    paranoia: 2,
    severity: 'notice',
    description: 'No Accept header',
  },
  nonPrintable: {
    id: 920272,
    category: 'protocol',
    paranoia: 3,
    severity: 'critical',
    description: 'Byte outside printable ASCII in the path or query',
  },
  manyArgs: {
    id: 920380,
    category: 'protocol',
    paranoia: 3,
    severity: 'critical',
    description: 'More than 255 arguments',
  },
  strictCharset: {
    id: 920273,
    category: 'protocol',
    paranoia: 4,
    severity: 'critical',
    description: 'Character outside letters, digits and -._~%&=+/ in the query',
  },
} as const satisfies Record<string, CheckRule>;

/** Every rule id (pattern rules and checks): what `disabled_rules` and exclusions may name. */
export const RULE_IDS: ReadonlySet<number> = new Set([
  ...PATTERN_RULES.map((p) => p.id),
  ...Object.values(CHECK_RULES).map((c) => c.id),
]);
