/*
 * people.c - synthetic, realistic members from a seed (people.h).
 */
#include "people.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Family names with their approximate share in per mille (Vietnamese census studies). */
static const struct {
	const char *name;
	unsigned permille;
} families[] = {
    {"Nguyễn", 383}, {"Trần", 110}, {"Lê", 95},    {"Phạm", 71}, {"Hoàng", 51}, {"Huỳnh", 30},
    {"Phan", 45},    {"Vũ", 39},    {"Võ", 30},    {"Đặng", 21}, {"Bùi", 20},   {"Đỗ", 14},
    {"Hồ", 13},      {"Ngô", 13},   {"Dương", 10}, {"Lý", 5},    {"Đinh", 8},   {"Trương", 8},
    {"Đoàn", 6},     {"Lâm", 5},    {"Mai", 5},    {"Trịnh", 5}, {"Cao", 4},    {"Lưu", 4},
};
static const char *const middles_m[] = {"Văn",   "Đức",  "Minh", "Quốc", "Hữu",
                                        "Thanh", "Xuân", "Công", "Đình", "Ngọc"};
static const char *const middles_f[] = {"Thị", "Ngọc",   "Thu", "Thanh", "Minh",
                                        "Mai", "Phương", "Kim", "Thùy",  "Bảo"};
static const char *const given_m[] = {
    "An",   "Bình", "Dũng",  "Đạt", "Hải",   "Hiếu",  "Hùng", "Khánh", "Long", "Nam",   "Phong",
    "Phúc", "Quân", "Quang", "Sơn", "Thắng", "Trung", "Tuấn", "Tú",    "Việt", "Lương", "Tài"};
static const char *const given_f[] = {
    "Châu",  "Giang", "Hà",   "Hạnh",  "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngân",
    "Nhung", "Tâm",   "Thảo", "Trang", "Vân", "Yến",   "Đào", "Bé",   "Nụ",  "Ánh", "Ly"};
/* Province names with the first 3 digits of their citizen ID numbers. */
static const struct {
	const char *name;
	const char *code;
} provinces[] = {
    {"Hà Nội", "001"},      {"Hà Giang", "002"},       {"Cao Bằng", "004"},  {"Lào Cai", "010"},
    {"Thái Nguyên", "019"}, {"Quảng Ninh", "022"},     {"Hải Phòng", "031"}, {"Nam Định", "036"},
    {"Thanh Hóa", "038"},   {"Nghệ An", "040"},        {"Huế", "046"},       {"Đà Nẵng", "048"},
    {"Quảng Nam", "049"},   {"Khánh Hòa", "056"},      {"Đắk Lắk", "066"},   {"Lâm Đồng", "068"},
    {"Đồng Nai", "075"},    {"TP Hồ Chí Minh", "079"}, {"Long An", "080"},   {"Tiền Giang", "082"},
    {"An Giang", "089"},    {"Kiên Giang", "091"},     {"Cần Thơ", "092"},   {"Cà Mau", "096"},
};
static const char *const positions[] = {"chair", "exec_committee_member", "group_leader"};

const char *ml_people_province(size_t i)
{
	return provinces[i % N(provinces)].name;
}

void ml_people_seed(struct ml_people *g, uint64_t seed)
{
	/* Nearby seeds give unrelated streams; never the all-zero state. */
	g->s = seed * 0x9e3779b97f4a7c15ULL + 0x70656f706c65ULL;
	if (!g->s)
		g->s = 1;
}

/* A number in [0, n) from g's stream (0 when n is 0). */
static uint32_t below(struct ml_people *g, uint32_t n)
{
	g->s ^= g->s << 13;
	g->s ^= g->s >> 7;
	g->s ^= g->s << 17;
	return n ? (uint32_t)(g->s % n) : 0;
}

static const char *family_name(struct ml_people *g)
{
	unsigned total = 0;
	for (size_t i = 0; i < N(families); i++)
		total += families[i].permille;
	unsigned r = below(g, total);
	for (size_t i = 0; i < N(families); i++) {
		if (r < families[i].permille)
			return families[i].name;
		r -= families[i].permille;
	}
	return families[0].name;
}

void ml_people_next(struct ml_people *g, uint32_t serial, struct ml_person *out)
{
	memset(out, 0, sizeof *out);
	bool female = below(g, 2);
	out->female = female;
	const char *family = family_name(g);
	const char *middle =
	    female ? middles_f[below(g, N(middles_f))] : middles_m[below(g, N(middles_m))];
	const char *given = female ? given_f[below(g, N(given_f))] : given_m[below(g, N(given_m))];
	snprintf(out->full_name, sizeof out->full_name, "%s %s %s", family, middle, given);
	unsigned year = 1965 + below(g, 40);
	snprintf(out->dob, sizeof out->dob, "%02u/%02u/%u", 1 + below(g, 28), 1 + below(g, 12),
	         year);
	/* The ID number's province is the place of birth registration, the hometown another draw.
	 */
	size_t p = below(g, N(provinces));
	unsigned century = (year >= 2000 ? 2 : 0) + female;
	snprintf(out->id_number, sizeof out->id_number, "%s%u%02u%06u", provinces[p].code, century,
	         year % 100, serial % 1000000);
	snprintf(out->hometown, sizeof out->hometown, "%s", provinces[below(g, N(provinces))].name);
	/* Joined at 18 to 27, and not after 2025 (the data are generated as of then). */
	unsigned joined = year + 18 + below(g, 10);
	snprintf(out->union_join_date, sizeof out->union_join_date, "%02u/%02u/%u",
	         1 + below(g, 28), 1 + below(g, 12), joined > 2025 ? 2025 : joined);
	out->position = below(g, 10) == 0 ? positions[below(g, 3)] : NULL;
	out->pays_dues = below(g, 20) != 0;
}

int ml_people_template_csv(FILE *f, struct ml_people *g, uint32_t first, uint32_t n)
{
	/* The template's header rows, as the union's form prints them (tests/fixtures). */
	fputs("TT,Họ và tên *,Ngày tháng năm sinh (ngày/tháng/năm),,Quê quán,Số CMND *,"
	      "Chức vụ CĐ tại CĐCS,,,,,,,Ngày vào CĐ *,Mã thẻ\n"
	      ",,Nam,Nữ,,,Chủ tịch,Phó chủ tịch,UVBCH,Tổ trưởng,Tổ phó,"
	      "CB CĐCS thành viên CĐ,UVUBKT,,\n"
	      "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n",
	      f);
	for (uint32_t i = 0; i < n; i++) {
		struct ml_person m;
		ml_people_next(g, first + i, &m);
		const char *pos = m.position ? m.position : "";
		fprintf(f, "%u,%s,%s,%s,%s,%s,%s,,%s,%s,,,,%s,\n", i + 1, m.full_name,
		        m.female ? "" : m.dob, m.female ? m.dob : "", m.hometown, m.id_number,
		        strcmp(pos, "chair") == 0 ? "x" : "",
		        strcmp(pos, "exec_committee_member") == 0 ? "x" : "",
		        strcmp(pos, "group_leader") == 0 ? "x" : "", m.union_join_date);
	}
	return ferror(f) ? -1 : 0;
}
