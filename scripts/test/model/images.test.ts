import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readImages } from '../../src/model/images.js';
import { tempDir } from '../integration/harness.js';

test('PNG, JPEG and CIFAR .bin records become RGB pixels in [0, 255], row-major', () => {
  const dir = tempDir('images-ok');
  const png = new PNG({ width: 32, height: 32 });
  png.data.fill(0);
  png.data[0] = 10;
  png.data[1] = 20;
  png.data[2] = 30;
  png.data[3] = 255; // pixel 0
  writeFileSync(join(dir, 'a.png'), PNG.sync.write(png));
  const rgba = Buffer.alloc(32 * 32 * 4, 255);
  writeFileSync(join(dir, 'b.jpg'), jpeg.encode({ data: rgba, width: 32, height: 32 }, 100).data);
  const rec = Buffer.alloc(3073);
  rec[0] = 7;
  rec[1] = 1;
  rec[1 + 1024] = 2;
  rec[1 + 2048] = 3; // label 7; pixel 0 = (1, 2, 3), channel-planar on disk
  writeFileSync(join(dir, 'c.bin'), Buffer.concat([rec, rec]));
  const [a, b, c, d] = readImages([join(dir, 'a.png'), join(dir, 'b.jpg'), join(dir, 'c.bin')]);
  assert.deepEqual([...a!.pixels.subarray(0, 3)], [10, 20, 30]);
  assert.ok(
    b!.pixels.every((v) => v >= 250),
    'white JPEG',
  );
  assert.deepEqual([c!.label, ...c!.pixels.subarray(0, 3)], [7, 1, 2, 3]);
  assert.equal(d!.name, `${join(dir, 'c.bin')}#1`);
});

test('an image of another size is resized to 32x32 (each pixel the mean of the area it covers)', () => {
  const dir = tempDir('images');
  const big = new PNG({ width: 64, height: 48 });
  for (let y = 0; y < 48; y++)
    for (let x = 0; x < 64; x++) big.data.set([x < 32 ? 255 : 0, 100, (y * 255) / 47, 255], (y * 64 + x) * 4);
  const file = join(dir, 'big.png');
  writeFileSync(file, PNG.sync.write(big));
  const [img] = readImages([file]);
  assert.equal(img!.pixels.length, 32 * 32 * 3);
  assert.deepEqual([img!.pixels[0], img!.pixels[1]], [255, 100], 'left half red');
  assert.equal(img!.pixels[(0 * 32 + 31) * 3], 0, 'right half not');
});

test('images that are not images, or not whole CIFAR records, are refused by name', () => {
  const dir = tempDir('images');
  writeFileSync(join(dir, 'short.bin'), Buffer.alloc(100));
  assert.throws(() => readImages([join(dir, 'short.bin')]), /not a whole number of 3073-byte CIFAR-10 records/);
  writeFileSync(join(dir, 'x.gif'), 'GIF89a');
  assert.throws(() => readImages([join(dir, 'x.gif')]), /unknown image type ".gif"/);
  writeFileSync(join(dir, 'bad.png'), 'not a png');
  assert.throws(() => readImages([join(dir, 'bad.png')]), /bad\.png could not be decoded/);
});
