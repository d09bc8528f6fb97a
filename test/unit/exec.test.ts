import test from 'ava';
import { systemPath } from '../../src/kernel/exec.js';

test('systemPath drops npm bin folders, where an unrelated `nft` lives, and keeps the rest in order', (t) => {
  t.is(systemPath('/work/node_modules/.bin:/node_modules/.bin:/usr/local/sbin:/usr/sbin::/usr/bin:/opt/node_modules/.bin/'), '/usr/local/sbin:/usr/sbin:/usr/bin');
  t.is(systemPath('/usr/bin:/home/x/node_modules/.binaries'), '/usr/bin:/home/x/node_modules/.binaries', 'only .bin itself');
});
