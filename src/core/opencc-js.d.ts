// opencc-js types its converters (opencc-js/core) but not its dictionary modules, which export
// each table as a DictLike string ("source target|…"); text.ts loads the two character tables.
declare module 'opencc-js/dict/*' {
  const dictionary: string;
  export default dictionary;
}
