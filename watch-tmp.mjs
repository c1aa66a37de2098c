import { launchBrowser, sleep } from './tests/browser/harness.mjs';
const url = process.argv[2], robot = process.argv[3], secs = Number(process.argv[4] || 10);
const b = await launchBrowser();
const page = await b.newPage(url);
const row = page.locator(`#robot-list li[data-robot-id="${robot}"]`);
await row.locator('button.watch:not([disabled])').waitFor({ timeout: 15000 });
await row.locator('button.watch').click();
for (let i = 0; i < secs; i++) {
  await sleep(1000);
  const s = await page.evaluate(async () => {
    const v = document.querySelector('video');
    const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    return { w: v && v.videoWidth, frames: q && q.totalVideoFrames };
  });
  console.log(JSON.stringify(s));
}
await b.close();
