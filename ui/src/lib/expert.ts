// The expert view: technical words are shown next to the plain ones (Slurm's "partition" next
// to "kind of machine"). A preference of this computer's UI, kept like the language.
const STORAGE_KEY = "usine.expert";

export function expertView(): boolean {
  return globalThis.localStorage?.getItem(STORAGE_KEY) === "yes";
}

export function setExpertView(on: boolean): void {
  globalThis.localStorage?.setItem(STORAGE_KEY, on ? "yes" : "no");
}
