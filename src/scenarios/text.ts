// What scenario commands print, in the student's language: `--lang`, else zh when the locale
// (LC_ALL, LC_MESSAGES, LANG) starts with zh, else en. A scenario's own texts come from its files;
// the few labels around them are here, in both languages, so a Chinese page reads as one.
import type { CheckResult } from './checks.js';
import type { Scenario } from './load.js';
import type { Text } from './schema.js';

export type Lang = keyof Text;
export const LANGS: Lang[] = ['en', 'zh'];

export function pickLang(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Lang {
  if (flag === 'en' || flag === 'zh') return flag;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

const LABELS = {
  minutes: { en: 'about %s minutes', zh: '约 %s 分钟' },
  concept: { en: 'Concept: ', zh: '概念：' },
  goal: { en: 'What `knetlab scenario check %s` verifies:', zh: '`knetlab scenario check %s` 检查的内容：' },
  questions: { en: 'Questions (answer with `knetlab scenario answer %s QUESTION ANSWER`):', zh: '问题（用 `knetlab scenario answer %s 问题 答案` 回答）：' },
  files: { en: 'Files of this scenario (copy one to edit it): %s', zh: '本场景的文件（要修改就先复制一份）：%s' },
  begin: { en: 'Begin with: knetlab scenario start %s', zh: '开始：knetlab scenario start %s' },
  started: { en: 'Scenario %s is ready on lab "%s".', zh: '场景 %s 已在实验环境 "%s" 中就绪。' },
  export: {
    en: 'Now run this, so that every knetlab command in this shell works on the scenario\'s lab (and in every other terminal you use for it):\n\n    export KNETLAB_LAB=%s\n',
    zh: '先运行下面这行，之后本终端里的每条 knetlab 命令都作用于这个场景的实验环境（另开的终端里也要运行一次）：\n\n    export KNETLAB_LAB=%s\n',
  },
  sudo: {
    en: 'You ran knetlab with sudo, which does not pass exported variables on. Open a root shell first (`sudo -i`) and run the export there, or write `sudo KNETLAB_LAB=%s knetlab ...` each time.\n',
    zh: '你是用 sudo 运行 knetlab 的，而 sudo 不会传递 export 的变量。请先打开 root shell（`sudo -i`）再在其中运行 export，或者每次都写成 `sudo KNETLAB_LAB=%s knetlab ...`。\n',
  },
  next: {
    en: 'When you think you are done: knetlab scenario check %s   ·   stuck? knetlab scenario hint %s',
    zh: '觉得完成了：knetlab scenario check %s   ·   卡住了？knetlab scenario hint %s',
  },
  hint: { en: 'Hint %s of %s: ', zh: '提示 %s / %s：' },
  lastHint: { en: 'That was the last hint. `knetlab scenario solve %s` applies the reference solution.', zh: '这是最后一条提示。`knetlab scenario solve %s` 会执行参考答案。' },
  moreHints: { en: 'Run it again for the next hint.', zh: '再运行一次可看下一条提示。' },
  passed: { en: 'All %s checks pass: scenario %s is solved.', zh: '全部 %s 项检查通过：场景 %s 完成！' },
  notYet: { en: 'Not yet: %s of %s checks pass.', zh: '还没完成：%s / %s 项检查通过。' },
  solved: { en: 'Applied the reference solution of %s:', zh: '已执行 %s 的参考答案：' },
  reset: { en: 'Scenario %s is back at its start on lab "%s" (answers cleared; hints seen: %s).', zh: '场景 %s 已在实验环境 "%s" 中恢复到初始状态（答案已清空；已看过的提示：%s 条）。' },
  right: { en: 'Right.', zh: '正确。' },
  wrong: { en: 'Not right yet; look again and answer once more.', zh: '还不对，再看看，然后重新回答。' },
} satisfies Record<string, Text>;

export function label(key: keyof typeof LABELS, lang: Lang, ...args: (string | number)[]): string {
  let i = 0;
  return LABELS[key][lang].replace(/%s/g, () => String(args[i++] ?? ''));
}

export function formatList(scenarios: Scenario[], lang: Lang): string {
  const rows = scenarios.map((s) => [s.id, `${s.spec.minutes} min`, s.spec.title[lang], s.spec.concept[lang]]);
  const width = (col: number) => Math.max(...rows.map((r) => r[col]!.length), 0);
  const [w0, w1] = [width(0), width(1)];
  return rows.map((r) => `${r[0]!.padEnd(w0)}  ${r[1]!.padStart(w1)}  ${r[2]}\n${' '.repeat(w0 + w1 + 4)}${r[3]}`).join('\n');
}

/** The task as the student reads it: title, concept, the text, what is checked, the questions. */
export function formatTask(s: Scenario, lang: Lang): string {
  const { spec } = s;
  const out = [`# ${spec.title[lang]}  (${s.id}, ${label('minutes', lang, spec.minutes)})`, `${label('concept', lang)}${spec.concept[lang]}`, '', s.task[lang], ''];
  out.push(label('goal', lang, s.id));
  for (const c of spec.checks) if (!('quiz' in c)) out.push(`  - ${c.description[lang]}`);
  if (spec.quiz.length) {
    out.push('', label('questions', lang, s.id));
    for (const q of spec.quiz) out.push(`  ${q.id}: ${q.question[lang]}`);
  }
  const files = [...(typeof spec.config === 'string' ? [spec.config] : []), ...spec.manifests];
  out.push('', label('files', lang, `${s.dir}/ (${files.join(', ')})`));
  return out.join('\n');
}

export function formatResults(s: Scenario, results: CheckResult[], lang: Lang): string {
  // What each check saw is worth reading when it passes too, unless the scenario hides it.
  const lines = results.map((r) => `${r.passed ? '✔' : '✘'} ${r.name}: ${r.description[lang]}${r.hideDetail ? '' : `\n    ${r.detail[lang]}`}`);
  const passing = results.filter((r) => r.passed).length;
  lines.push('', passing === results.length ? label('passed', lang, results.length, s.id) : label('notYet', lang, passing, results.length));
  return lines.join('\n');
}
