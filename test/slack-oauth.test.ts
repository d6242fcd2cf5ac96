import { randomBytes } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organizations, slackInstallations, slackLinkCodes } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { slackBotScopes } from '../src/adapters/slack/install.js';
import { DomainError } from '../src/core/errors.js';
import { linkCodeHash, linkSlackWorkspace, slackLinkCodeUsable } from '../src/core/slack-workspaces.js';
import { slackSender } from '../src/delivery/slack.js';
import { translator } from '../src/i18n/index.js';
import type { FakeWorkspace } from './helpers/fake-slack.js';
import { otherOrganization, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, signedHeaders, startTestBot, type TestBot } from './helpers/slack.js';
import { waitFor } from './helpers/wait.js';

/** The OAuth install's settings, and no single workspace's bot token. */
const oauth = {
  SLACK_BOT_TOKEN: undefined,
  SLACK_CLIENT_ID: '1111111111.2222222222',
  SLACK_CLIENT_SECRET: 'test-client-secret-5d2e',
  SLACK_STATE_SECRET: 'test-state-secret-8a41c0e7',
  SLACK_TOKEN_KEY: randomBytes(32).toString('base64'),
};

const hanbitName = '한빛 클라우드 파트너스';
const taiwanName = '台灣雲端夥伴股份有限公司';
const busanName = '부산 클라우드 파트너스';
// A team name with markup: the pages must show it as text.
const hanbit: FakeWorkspace = { teamId: 'T0HANBIT01', teamName: '한빛 <Cloud> & "Ops"', botToken: 'xoxb-1111-hanbit-secret-token', botUserId: 'UBOTHANBIT', installer: users.globalAdmin };
const taiwan: FakeWorkspace = { teamId: 'T0TAIWAN01', teamName: '台灣雲端', botToken: 'xoxb-2222-taiwan-secret-token', botUserId: 'UBOTTAIWAN', installer: users.adminAgent };
const elsewhere: FakeWorkspace = { teamId: 'T0ELSEWHR1', teamName: 'Elsewhere', botToken: 'xoxb-3333-elsewhere-token', botUserId: 'UBOTELSE01', installer: 'UELSE0001' };

const logged: string[] = [];
const log = { debug() {}, info: (m: string) => void logged.push(m), warn: (m: string) => void logged.push(m), error: (m: string) => void logged.push(m) };

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    // No organization names a workspace yet: installs link them.
    organizations: [
      { ...testOrganization, organization: { name: hanbitName } },
      { ...otherOrganization, organization: { name: taiwanName } },
      { organization: { name: busanName } },
    ],
    config: oauth,
    log,
  });
});
afterAll(() => bot?.close());

/** Everything an install may change: installations, link codes, and which workspace each organization names. */
async function slackState() {
  return {
    installations: await bot.db.select().from(slackInstallations).orderBy(asc(slackInstallations.teamId)),
    codes: await bot.db.select().from(slackLinkCodes).orderBy(asc(slackLinkCodes.codeHash)),
    organizations: await bot.db.select({ name: organizations.name, slackTeamId: organizations.slackTeamId }).from(organizations).orderBy(asc(organizations.name)),
  };
}

async function linkCode(org: string) {
  const result = await runCli(bot.db, ['slack', 'link-code', '--org', org], { config: { PUBLIC_URL: bot.origin } });
  expect(result.exitCode).toBe(0);
  return { output: result.output, code: /\b([0-9A-Z]{5}-[0-9A-Z]{5})\b/.exec(result.output)![1]! };
}

/** The browser opens the install link: a page (refused), or a redirect to Slack's authorize page with the state cookie. */
async function startInstall(code: string, language = 'en') {
  const response = await fetch(`${bot.origin}/slack/install?code=${encodeURIComponent(code)}`, { headers: { 'accept-language': language }, redirect: 'manual' });
  if (response.status !== 302) return { status: response.status, html: await response.text() };
  return { status: 302, authorize: new URL(response.headers.get('location')!), cookie: response.headers.get('set-cookie')!.split(';')[0]! };
}

/** Signed in to `workspace`, the browser allows the app on Slack's authorize page and comes back to the redirect URL. */
async function finishInstall(started: { authorize?: URL; cookie?: string }, workspace: FakeWorkspace, language = 'en', cookie = started.cookie) {
  bot.slack.signInTo(workspace);
  const slack = await fetch(started.authorize!, { redirect: 'manual' });
  const back = await fetch(slack.headers.get('location')!, { headers: { 'accept-language': language, ...(cookie ? { cookie } : {}) }, redirect: 'manual' });
  return { status: back.status, html: await back.text() };
}

async function install(code: string, workspace: FakeWorkspace, language = 'en') {
  const started = await startInstall(code, language);
  return started.status === 302 ? finishInstall(started, workspace, language) : started;
}

/** A signed Events API request from a workspace. */
async function event(teamId: string, payload: Record<string, unknown>) {
  const body = JSON.stringify({ token: 'legacy-token', team_id: teamId, api_app_id: 'A0CSPOPS01', event: payload, type: 'event_callback', event_id: `Ev${Date.now()}`, event_time: Math.floor(Date.now() / 1000) });
  return fetch(bot.url, { method: 'POST', headers: { ...signedHeaders(body), 'content-type': 'application/json' }, body });
}

/** Turning on a customer's reservations from a workspace: the announcement is posted to that channel. */
async function announceFrom(workspace: FakeWorkspace, user: string, channel: string) {
  const asked = await bot.command(user, 'allow-reservations contoso.com', { team: workspace.teamId, channel });
  expect(replyText(asked.reply)).toContain('Allow Contoso Ltd to buy Azure reservations?');
  const before = bot.slack.posts().length;
  await bot.click(user, buttons(asked.reply).find((b) => b.text.text === 'Turn on')!, { team: workspace.teamId, channel });
  // The customer's contacts are told by direct message too, in no set order with the channel's post.
  const announced = () => bot.slack.posts().slice(before).find((p) => p.body.channel === channel);
  await waitFor(`the announcement in ${channel}`, () => announced() !== undefined);
  return announced()!;
}

const codes: Record<string, string> = {};

describe('Slack OAuth install (one deployment, many workspaces)', () => {
  it('slack link-code prints a one-time code valid for an hour and the install link; only its hash is stored', async () => {
    const { output, code } = await linkCode(hanbitName);
    codes.hanbit = code;
    expect(output).toContain(`Link code for ${hanbitName}: ${code} (once, until `);
    expect(output).toContain(`${bot.origin}/slack/install?code=${code}`);
    const [row] = await bot.db.select().from(slackLinkCodes).where(eq(slackLinkCodes.codeHash, linkCodeHash(code)));
    expect(JSON.stringify(row)).not.toContain(code.replace('-', ''));
    expect(row!.usedAt).toBeNull();
    const left = row!.expiresAt.getTime() - Date.now();
    expect(left).toBeGreaterThan(59 * 60_000);
    expect(left).toBeLessThanOrEqual(60 * 60_000);
    // Typed loosely, it is the same code.
    expect(linkCodeHash(` ${code.toLowerCase().replace('-', ' ')} `)).toBe(linkCodeHash(code));

    expect(await runCli(bot.db, ['slack', 'link-code', '--org', 'Nobody'])).toMatchObject({ exitCode: 1 });
    expect(await runCli(bot.db, ['slack'])).toEqual({ output: 'Usage: npm run csp -- slack link-code [--org <organization name>]', exitCode: 2 });
  });

  it('the install page asks for the code in the browser\'s language and refuses a wrong one, storing nothing', async () => {
    const korean = await fetch(`${bot.origin}/slack/install`, { headers: { 'accept-language': 'ko-KR,ko;q=0.9,en;q=0.5' } });
    expect(korean.status).toBe(200);
    const page = await korean.text();
    expect(page).toContain('<html lang="ko-KR">');
    expect(page).toContain('csp-ops 관리자에게 받은 연결 코드를 입력하세요.');
    expect(page).toContain('<input name="code"');
    expect(await (await fetch(`${bot.origin}/slack/install`, { headers: { 'accept-language': 'zh-TW' } })).text()).toContain('請輸入 csp-ops 管理員提供的連結碼');

    const before = await slackState();
    const wrong = await startInstall('<script>alert(1)</script>', 'zh-TW');
    expect(wrong.status).toBe(403);
    expect(wrong.html).toContain('此連結碼無法使用');
    expect(wrong.html).not.toContain('<script>');
    expect(await slackState()).toEqual(before);
    expect(bot.slack.authorizations).toHaveLength(0);
  });

  it('installs in a workspace, links it to the organization of the code, and keeps its token sealed', async () => {
    const started = await startInstall(codes.hanbit!, 'ko-KR');
    expect(started.status).toBe(302);
    const { authorize } = started as { authorize: URL };
    expect(`${authorize.origin}${authorize.pathname}`).toBe(bot.slack.apiUrl.replace(/api\/$/, 'oauth/v2/authorize'));
    expect(authorize.searchParams.get('client_id')).toBe(oauth.SLACK_CLIENT_ID);
    expect(authorize.searchParams.get('scope')).toBe(slackBotScopes.join(','));
    expect(authorize.searchParams.get('redirect_uri')).toBe(`http://localhost:${bot.bot.port}/slack/oauth_redirect`);
    // The code's hash travels in the signed state; the code itself never reaches Slack.
    expect(authorize.toString()).not.toContain(codes.hanbit!);

    const done = await finishInstall(started, hanbit, 'ko-KR');
    expect(done.status).toBe(200);
    expect(done.html).toContain(`csp-ops가 Slack 워크스페이스 한빛 &lt;Cloud&gt; &amp; &quot;Ops&quot;에 설치되어 ${hanbitName}에 연결되었습니다.`);
    expect(done.html).not.toContain('<Cloud>');

    const exchange = bot.slack.calls.find((c) => c.method === 'oauth.v2.access')!;
    expect(exchange.body).toMatchObject({ client_id: oauth.SLACK_CLIENT_ID, code: 'grant-1', redirect_uri: authorize.searchParams.get('redirect_uri') });
    const { installations, codes: stored, organizations: orgs } = await slackState();
    expect(orgs.find((o) => o.name === hanbitName)?.slackTeamId).toBe(hanbit.teamId);
    expect(installations).toMatchObject([{ teamId: hanbit.teamId, teamName: hanbit.teamName, scopes: slackBotScopes.join(','), installedBy: users.globalAdmin }]);
    expect(installations[0]!.sealedInstallation).toMatch(/^v1\./);
    expect(JSON.stringify(installations)).not.toContain(hanbit.botToken);
    expect(JSON.stringify(installations)).not.toContain('hanbit-secret');
    expect(stored.find((c) => c.codeHash === linkCodeHash(codes.hanbit!))).toMatchObject({ usedByTeamId: hanbit.teamId });
    expect(logged.some((m) => m.includes(`installed in workspace ${hanbit.teamId}`) && m.includes(hanbitName))).toBe(true);
  });

  it('answers a signed slash command from that workspace and posts there with its own token', async () => {
    const post = await announceFrom(hanbit, users.adminAgent, 'C0HANBIT01');
    expect(post.body.channel).toBe('C0HANBIT01');
    // The announcement's first line; what the customer can now do follows it (issue 19).
    expect(String(post.body.text).split('\n')[0]).toBe(`王小明 turned on Azure reservation purchases for Contoso Ltd.`);
    expect(post.token).toBe(hanbit.botToken);
    // The user's Slack language is asked with the workspace's token too.
    const lookups = bot.slack.calls.filter((c) => c.method === 'users.info');
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups.every((c) => c.token === hanbit.botToken)).toBe(true);
  });

  it('a second workspace installed for another organization uses its own token', async () => {
    const { code } = await linkCode(taiwanName);
    const done = await install(code, taiwan, 'zh-TW');
    expect(done.status).toBe(200);
    expect(done.html).toContain(`csp-ops 已安裝到 Slack 工作區 台灣雲端，並已連結到 ${taiwanName}。`);

    const post = await announceFrom(taiwan, users.adminAgent, 'C0TAIPEI01');
    expect(post.body.channel).toBe('C0TAIPEI01');
    expect(post.token).toBe(taiwan.botToken);
    // Each workspace's posts went with its own token.
    for (const p of bot.slack.posts()) expect(p.token).toBe(p.body.channel === 'C0TAIPEI01' ? taiwan.botToken : hanbit.botToken);
    const { organizations: orgs, installations } = await slackState();
    expect(orgs.map((o) => [o.name, o.slackTeamId])).toEqual(expect.arrayContaining([[hanbitName, hanbit.teamId], [taiwanName, taiwan.teamId]]));
    expect(installations.map((i) => i.teamId)).toEqual([hanbit.teamId, taiwan.teamId]);
  });

  it('refuses a used link code, also when another install used it on the way back from Slack, storing nothing', async () => {
    const before = await slackState();
    const reused = await startInstall(codes.hanbit!);
    expect(reused.status).toBe(403);
    expect(reused.html).toContain('This link code cannot be used: it is mistyped, already used, or older than one hour. Nothing was installed.');
    expect(await slackState()).toEqual(before);

    // Two browsers start with one code; the first to come back from Slack uses it.
    const { code } = await linkCode(busanName);
    const [first, second] = [await startInstall(code), await startInstall(code)];
    expect([first.status, second.status]).toEqual([302, 302]);
    expect((await finishInstall(first, elsewhere)).status).toBe(200);
    const afterFirst = await slackState();
    expect(afterFirst.organizations.find((o) => o.name === busanName)?.slackTeamId).toBe(elsewhere.teamId);
    const exchanges = bot.slack.calls.filter((c) => c.method === 'oauth.v2.access').length;
    const late = await finishInstall(second, { ...elsewhere, teamId: 'T0LATE0001', botToken: 'xoxb-4444-late-token' });
    expect(late.status).toBe(403);
    expect(late.html).toContain('This link code cannot be used');
    // Refused before Slack was asked for a token.
    expect(bot.slack.calls.filter((c) => c.method === 'oauth.v2.access')).toHaveLength(exchanges);
    expect(await slackState()).toEqual(afterFirst);
  });

  it('refuses an expired link code, storing nothing', async () => {
    const { code } = await linkCode(busanName);
    await bot.db.update(slackLinkCodes).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(slackLinkCodes.codeHash, linkCodeHash(code)));
    const before = await slackState();
    const expired = await startInstall(code, 'ko-KR');
    expect(expired.status).toBe(403);
    expect(expired.html).toContain('이 연결 코드는 사용할 수 없습니다.');
    expect(await slackState()).toEqual(before);
  });

  it('refuses a workspace linked to another organization; nothing changes and the code stays usable', async () => {
    const { code } = await linkCode(taiwanName);
    const before = await slackState();
    const taken = await install(code, hanbit);
    expect(taken.status).toBe(409);
    expect(taken.html).toContain('The Slack workspace 한빛 &lt;Cloud&gt; &amp; &quot;Ops&quot; is already linked to another organization, so nothing was changed');
    expect(await slackState()).toEqual(before);
    expect(await slackLinkCodeUsable(bot.db, linkCodeHash(code))).toBe(true);
  });

  it('a cancelled install, and a return without the browser\'s state cookie, store nothing', async () => {
    const before = await slackState();
    const cancelled = await fetch(`${bot.origin}/slack/oauth_redirect?error=access_denied&state=x`, { headers: { 'accept-language': 'zh-TW' } });
    expect(cancelled.status).toBe(400);
    expect(await cancelled.text()).toContain('已在 Slack 取消安裝，未變更任何內容。');

    const { code } = await linkCode(busanName);
    const started = await startInstall(code);
    const forged = await finishInstall(started, elsewhere, 'en', '');
    expect(forged.status).toBe(400);
    expect(forged.html).toContain('The installation could not be completed (slack_oauth_invalid_state); nothing was changed.');
    const after = await slackState();
    expect({ ...after, codes: after.codes.filter((c) => c.codeHash !== linkCodeHash(code)) }).toEqual(before);
  });

  it('one link code links one workspace when two installs store at once', async () => {
    const { code } = await linkCode(busanName);
    const link = (teamId: string) =>
      linkSlackWorkspace(bot.db, { codeHash: linkCodeHash(code), teamId, teamName: teamId, scopes: 'commands', installedBy: 'U0RACE0001', sealedInstallation: 'v1.x.y.z' });
    const results = await Promise.allSettled([link('T0RACE0001'), link('T0RACE0002')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(DomainError);
    expect((refused.reason as DomainError).code).toBe('slackInstall.codeRefused');
    const { organizations: orgs, installations } = await slackState();
    const linked = orgs.find((o) => o.name === busanName)!.slackTeamId;
    expect(['T0RACE0001', 'T0RACE0002']).toContain(linked);
    // The organization moved: the workspace it had before keeps no token.
    expect(installations.map((i) => i.teamId)).toEqual([hanbit.teamId, linked, taiwan.teamId]);
  });

  it('app_uninstalled deletes the workspace\'s tokens and says so in the log; posts for it then fail for good', async () => {
    const response = await event(hanbit.teamId, { type: 'app_uninstalled' });
    expect(response.status).toBe(200);
    await waitFor('the installation to go', async () => !(await slackState()).installations.some((i) => i.teamId === hanbit.teamId));
    expect(logged).toContain(`Slack: workspace ${hanbit.teamId} (${hanbit.teamName}) uninstalled csp-ops; its tokens were deleted`);

    const org = (await bot.db.select({ id: organizations.id }).from(organizations).where(eq(organizations.name, hanbitName)))[0]!;
    const sender = slackSender(async () => undefined, bot.slack.apiUrl);
    await expect(sender.post({ orgId: org.id, channelId: 'C0HANBIT01', t: translator() }, { lines: ['x'] })).rejects.toMatchObject({ options: { permanent: true } });
  });

  it('tokens_revoked for the bot deletes that workspace\'s tokens', async () => {
    await event(taiwan.teamId, { type: 'tokens_revoked', tokens: { bot: [taiwan.botUserId] } });
    await waitFor('the installation to go', async () => !(await slackState()).installations.some((i) => i.teamId === taiwan.teamId));
    expect(logged).toContain(`Slack: workspace ${taiwan.teamId} (${taiwan.teamName}) revoked the bot token; its tokens were deleted`);
  });
});
