// The "react" module for this page: the UMD build's exports.
const R = window.React;
export default R;
export const { useState, useEffect, useRef, useCallback, useMemo, createElement } = R;
