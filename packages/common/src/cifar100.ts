// CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html), binary version: train.bin (50,000 records) and
// test.bin (10,000), each record a coarse label byte, a fine label byte and the 3,072 pixel bytes of
// CIFAR-10's layout. dtrain trains on the 100 fine labels. The official checksum is the MD5 of the archive
// the site serves; the files it holds are recorded (SHA-256) when they are extracted from a verified archive.

import type { CifarLayout } from './cifar.js';

export const CIFAR100_URL = 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz';
/** The MD5 the CIFAR page gives for cifar-100-binary.tar.gz. */
export const CIFAR100_ARCHIVE_MD5 = '03b5dce01913d631647c71ecec9e9cb8';
export const CIFAR100_TRAIN_FILE = 'train.bin';
export const CIFAR100_TEST_FILE = 'test.bin';
export const CIFAR100_TRAIN_SIZE = 50_000;
export const CIFAR100_TEST_SIZE = 10_000;
/** Written beside the files when they come out of a verified archive: their SHA-256, checked on every load. */
export const CIFAR100_MANIFEST = 'dtrain-verified.json';

export const CIFAR100_LAYOUT: CifarLayout = { dataset: 'cifar100', labelBytes: 2, labelAt: 1, classes: 100 };

/** The fine classes, by label (fine_label_names.txt). */
export const CIFAR100_CLASSES: readonly string[] = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle ' +
  'caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant ' +
  'flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree ' +
  'motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate ' +
  'poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider ' +
  'squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle ' +
  'wardrobe whale willow_tree wolf woman worm'
).split(' ');
