import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from './helpers/fixture.js';
import { replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { unchanged } from './helpers/tables.js';

// PostgreSQL's text holds no NUL character: a command, a button's value or a modal's input holding one is
// refused with a sentence in the person's language, instead of an unexpected error from the first query.

const english = 'What you sent holds a NUL character (\\u0000), which cannot be stored: send it again without it. Nothing was changed.';
const korean = '보낸 내용에 저장할 수 없는 NUL 문자(\\u0000)가 있습니다. 이 문자를 빼고 다시 보내세요. 아무것도 변경되지 않았습니다.';
/** The reply's notification text and its one block. */
const says = (sentence: string) => `${sentence}\n${sentence}`;

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
  await bot.command(users.salesAgent, 'language ko-KR');
});
afterAll(() => bot?.close());

describe('text holding a NUL character', () => {
  it('a typed command is refused in the person\'s language and changes nothing', async () => {
    for (const text of ['customer 한빛\u0000소프트', 'activity 台灣\u0000雲端', 'notify here purchases 한빛\u0000']) {
      const { reply } = await unchanged(bot.db, () => bot.command(users.adminAgent, text));
      expect(replyText(reply)).toBe(says(english));
    }
    const { reply } = await unchanged(bot.db, () => bot.command(users.salesAgent, 'customer 한빛\u0000'));
    expect(replyText(reply)).toBe(says(korean));
  });

  it('a button\'s value holding one is refused the same way', async () => {
    const clicked = await unchanged(bot.db, () => bot.click(users.salesAgent, { action_id: 'csp:run', value: 'customer 한빛\u0000소프트' }));
    expect(replyText(clicked.reply)).toBe(says(korean));
  });
});
