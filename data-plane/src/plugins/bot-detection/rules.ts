/**
 * The built-in list of bot User-Agents, checked after the configured allow and deny lists. It
 * covers the same families as Kong's list (kong/plugins/bot-detection/rules.lua, itself drawn from
 * ua-parser's uap-core): monitoring and link-preview fetchers, search-engine and SEO crawlers,
 * archivers, scrapers, HTTP client libraries and S3 clients. Plain browsers and curl are not on it
 * (as in Kong). Written for JavaScript's RegExp; matched anywhere in the stripped User-Agent.
 */
export const BUILTIN_BOT_PATTERNS: readonly string[] = [
  // Monitoring, previews and social fetchers.
  String.raw`Pingdom\.com_bot_version_\d+\.\d+`,
  String.raw`facebookexternalhit/\d+\.\d+`,
  String.raw`/\+/web/snippet`,
  String.raw`\bTwitterbot/\d+\.\d+`,
  String.raw` PTST/\d+(?:\.\d+)?$`,
  String.raw`MSIECrawler`,
  // S3 clients and SDKs.
  String.raw`\b(?:Boto3?|JetS3t|s3fs|aws-cli|aws-sdk-(?:cpp|go|java|nodejs|ruby2?|dotnet-(?:\d{1,2}|core)))/\d+\.\d+`,
  // HTTP client libraries (curl and wget are deliberately absent, as in Kong).
  String.raw`(?:Google-HTTP-Java-Client|Apache-HttpClient|Go-http-client|scalaj-http|http%20client|Python-urllib|HttpMonitor|TLSProber|WinHTTP|JNLP|okhttp|aihttp|reqwest|axios|unirest-(?:java|python|ruby|nodejs|php|net))(?:[ /]\d|\b|$)`,
  // Named crawlers, archivers and scanners.
  String.raw`(?:[A-Za-z]{1,30}-)?Googlebot|AdsBot-Google|Mediapartners-Google|AppEngine-Google|bingbot|BingPreview|msnbot|[Bb]ai[Dd]u[Ss]pider|Yandex[A-Za-z]{1,30}|Yahoo! Slurp|YahooSeeker|Slurp\b|ia_archiver|InternetArchive|heritrix|archive\.org_bot|Scrapy|masscan|MJ12bot|SemrushBot|LinkedInBot|Slackbot-LinkExpanding|Slack-ImgProxy|WhatsApp|WordPress|Nutch|larbin|gigabot|Qwantify|WhatWeb|Xenu.{0,2}Link Sleuth`,
  // Generic "<name>bot/<version>", "<name>Archiver 1.0", "…Indexer/2" (spiders, crawlers and
  // scrapers are caught by the next rule whatever follows them).
  String.raw`(?:[Bb]ot|[Aa]rchiver|[Ii]ndexer)[/ ]v?\d`,
  // Anything calling itself a spider, a crawler or a scraper.
  String.raw`[Ss][Pp][Ii][Dd][Ee][Rr]|[Cc][Rr][Aa][Ww][Ll]|[Ss]crape`,
];
