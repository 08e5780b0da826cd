import { describe, expect, it } from 'vitest';
import { UserAgentMatcher, Verdict } from './matcher.js';

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.5.0',
  'Wget/1.21.4',
  'PostmanRuntime/7.39.0',
];

const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)',
  'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)',
  'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  'Twitterbot/1.0',
  'Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)',
  'Scrapy/2.11.0 (+https://scrapy.org)',
  'python-urllib/3.11'.replace('python', 'Python'),
  'Go-http-client/1.1',
  'Apache-HttpClient/4.5.14 (Java/17.0.2)',
  'okhttp/4.12.0',
  'axios/1.7.2',
  'aws-sdk-java/1.12.0 Linux/5.10',
  'Boto3/1.34.0 Python/3.11',
  'Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)',
  'ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)',
  'SomeCrawler 1.0',
  'my-web-spider',
];

describe('UserAgentMatcher', () => {
  it('lets common browsers, curl and wget through', () => {
    const m = new UserAgentMatcher([], []);
    for (const ua of BROWSERS) expect(m.classify(ua), ua).toBe(Verdict.None);
  });

  it('flags the well-known crawlers and HTTP libraries of the built-in list', () => {
    const m = new UserAgentMatcher([], []);
    for (const ua of BOTS) expect(m.blocks(ua), ua).toBe(true);
  });

  it('lets an allowed agent through even when it is a known bot', () => {
    const m = new UserAgentMatcher(['Googlebot'], []);
    expect(m.classify('Mozilla/5.0 (compatible; Googlebot/2.1)')).toBe(Verdict.Allowed);
    expect(m.blocks('Mozilla/5.0 (compatible; Googlebot/2.1)')).toBe(false);
  });

  it('denies an agent matching the deny list', () => {
    const m = new UserAgentMatcher([], ['^curl/']);
    expect(m.classify('curl/8.5.0')).toBe(Verdict.Denied);
    expect(m.classify('  curl/8.5.0  ')).toBe(Verdict.Denied);
  });

  it('checks allow before deny', () => {
    const m = new UserAgentMatcher(['internal-probe'], ['probe']);
    expect(m.blocks('internal-probe/1')).toBe(false);
    expect(m.blocks('other-probe/1')).toBe(true);
  });

  it('keeps answering correctly beyond the cache size', () => {
    const m = new UserAgentMatcher([], ['^deny-']);
    for (let i = 0; i < 10_050; i++) m.classify(`agent-${i}`);
    expect(m.blocks('deny-1')).toBe(true);
    expect(m.blocks('agent-1')).toBe(false);
  });
});
