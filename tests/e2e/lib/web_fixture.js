// The usual world of a browser test: two servers and Chromium.
//   open     authentication off: the machine's owner, with the tiny model installed as `tiny`
//   guarded  authentication on: the named users, each with a token (and, with `modelsForUsers`,
//            the tiny model installed for each of them); none without users
// Call stop() in `after`.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { addUserWithToken, installModel, makeTempDir, runHearth, startServer, synthTiny } from './hearth.js';
import { launchBrowser, webEnv } from './browser.js';

export async function startWebFixture({ prefix = 'hearth-e2e-web-', users = ['alice', 'bob'],
                                        modelsForUsers = false, openEnv = {}, guardedEnv = {} } = {}) {
  const dir = await makeTempDir(prefix);
  const world = { dir, tokens: {}, open: null, guarded: null, browser: null };
  world.stop = async () => {
    await world.browser?.close();
    await world.open?.stop();
    await world.guarded?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    world.modelFile = await synthTiny(dir);
    const openHome = path.join(dir, 'open');
    await installModel(openHome, world.modelFile, 'tiny');
    world.open = await startServer({ home: openHome, env: webEnv(openEnv) });
    const guardedHome = path.join(dir, 'guarded');
    for (const user of users) {
      world.tokens[user] = await addUserWithToken(guardedHome, user);
      if (modelsForUsers) {
        await runHearth(['pull', world.modelFile, '--name', 'tiny', '--user', user], { home: guardedHome });
      }
    }
    if (users.length) world.guarded = await startServer({ home: guardedHome, env: webEnv(guardedEnv) });
    world.browser = await launchBrowser();
  } catch (e) {
    await world.stop();
    throw e;
  }
  return world;
}
