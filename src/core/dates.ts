// The date-fns functions and locales csp-ops uses, each from its own module: the package's index
// loads all of its ~250 functions and date-fns/locale every locale, about 10 MB of heap held for the
// process's life for a handful of them (issue 18). Import date functions from here, not from 'date-fns'.
export { addDays } from 'date-fns/addDays';
export { addHours } from 'date-fns/addHours';
export { addMonths } from 'date-fns/addMonths';
export { addYears } from 'date-fns/addYears';
export { differenceInCalendarDays } from 'date-fns/differenceInCalendarDays';
export { endOfMonth } from 'date-fns/endOfMonth';
export { format } from 'date-fns/format';
export { isValid } from 'date-fns/isValid';
export { max } from 'date-fns/max';
export { min } from 'date-fns/min';
export { parse } from 'date-fns/parse';
export { setDate } from 'date-fns/setDate';
export { startOfMonth } from 'date-fns/startOfMonth';
export { subDays } from 'date-fns/subDays';
export { subMonths } from 'date-fns/subMonths';
export { ko } from 'date-fns/locale/ko';
export { zhTW } from 'date-fns/locale/zh-TW';
